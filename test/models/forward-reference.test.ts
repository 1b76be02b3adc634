/**
 * Every family's tfjs forward against an independent float64 implementation (test/models/
 * reference/), on tiny random checkpoints written by scripts/make-tiny-checkpoints.ts: every
 * hidden state, the pre-final-norm residual and the logits within 1e-4 absolute and 1e-4 relative
 * to the reference tensor's largest value.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { loadModel } from "../../lib/models/load";
import { compare, disposeOutput, tinyCheckpoints, TOL_F32, TOL_F32_REL } from "./helpers";
import { readCheckpoint, type RefCheckpoint, type RefOutput } from "./reference/common";
import { REFERENCES } from "./reference/variants";
import { llamaReference } from "./reference/llama";
import { neoxReference } from "./reference/neox";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());


describe("forward passes match the float64 reference", () => {
  for (const [variant, reference] of REFERENCES) {
    it(`${variant}: every hidden state, the residual and the logits within ${TOL_F32} (abs and rel)`, () => {
      const model = loadModel(ck.dirs[variant]);
      const rows = [
        [3, 17, 5, 9, 2, 11, 40],
        [8, 1, 1, 30, 7, 19, 4],
      ];
      const ids = tf.tensor2d(rows, [2, 7], "int32");
      const out = model.forward(ids);
      const cfg = model.config;
      expect(out.hiddenStates.length).toBe(cfg.n_layers + 1);
      for (const s of out.hiddenStates) expect(s.shape).toEqual([2, 7, cfg.d_model]);
      expect(out.logits?.shape).toEqual([2, 7, cfg.d_vocab]);

      const refCk = readCheckpoint(ck.dirs[variant]);
      const diffs = compare(out, rows.map((r) => reference(refCk, r)));
      if (process.env.SHOW_DIFFS) console.log(variant, JSON.stringify(diffs));
      for (const d of diffs.states) expect(d).toBeLessThan(TOL_F32);
      expect(diffs.resid).toBeLessThan(TOL_F32);
      expect(diffs.logits).toBeLessThan(TOL_F32);
      for (const d of [...diffs.relStates, diffs.relResid, diffs.relLogits]) expect(d).toBeLessThan(TOL_F32_REL);
      // The check is not vacuous: states differ from each other and are not all tiny.
      expect(Math.max(...out.hiddenStates[1].dataSync().map(Math.abs))).toBeGreaterThan(0.1);

      disposeOutput(out);
      ids.dispose();
      model.dispose();
    });
  }
});

/** A copy of a tiny checkpoint (same weights) with some config.json keys changed. */
function withConfig(variant: string, name: string, patch: Record<string, unknown>): string {
  const dir = path.join(ck.root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(ck.dirs[variant], "model.safetensors"), path.join(dir, "model.safetensors"));
  const cfg = JSON.parse(fs.readFileSync(path.join(ck.dirs[variant], "config.json"), "utf8"));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...cfg, ...patch }));
  return dir;
}

/** Largest |a - b| over every state and the logits of two reference outputs. */
function refGap(a: RefOutput, b: RefOutput): number {
  let worst = 0;
  const rows = (x: RefOutput) => [...x.states.flat(), ...x.logits];
  const ra = rows(a), rb = rows(b);
  ra.forEach((row, r) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - rb[r][i])))));
  return worst;
}

describe("each family option changes the result, and the forward follows it", () => {
  // Same weights, one option flipped: the reference must move (the option is exercised at these
  // sizes and sequence length) and the forward must still match it.
  const CASES: [string, Record<string, unknown>, (c: RefCheckpoint, ids: number[]) => RefOutput][] = [
    ["neox", { use_parallel_residual: false }, neoxReference],
    ["neox-sequential", { use_parallel_residual: true }, neoxReference],
    ["neox", { rotary_pct: 1, rotary_emb_base: 100 }, neoxReference],
    ["mistral", { sliding_window: null }, llamaReference],
    ["mistral", { sliding_window: 2 }, llamaReference],
    ["qwen2-window", { use_sliding_window: false }, llamaReference],
    ["qwen2-window", { max_window_layers: 0 }, llamaReference],
  ];
  CASES.forEach(([variant, patch, reference], n) => {
    it(`${variant} with ${JSON.stringify(patch)}`, () => {
      const dir = withConfig(variant, `patched-${n}`, patch);
      const row = [3, 17, 5, 9, 2, 11, 40];
      const moved = refGap(reference(readCheckpoint(dir), row), reference(readCheckpoint(ck.dirs[variant]), row));
      expect(moved).toBeGreaterThan(1e-2);
      const model = loadModel(dir);
      const ids = tf.tensor2d([row], [1, 7], "int32");
      const out = model.forward(ids);
      const diffs = compare(out, [reference(readCheckpoint(dir), row)]);
      for (const d of [...diffs.states, diffs.resid, diffs.logits]) expect(d).toBeLessThan(TOL_F32);
      for (const d of [...diffs.relStates, diffs.relResid, diffs.relLogits]) expect(d).toBeLessThan(TOL_F32_REL);
      disposeOutput(out);
      ids.dispose();
      model.dispose();
    });
  });
});
