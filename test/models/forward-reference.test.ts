/**
 * Every family's tfjs forward against an independent float64 implementation (test/models/
 * reference/), on tiny random checkpoints written by scripts/make-tiny-checkpoints.ts: every
 * hidden state, the pre-final-norm residual and the logits within 1e-4 absolute and 1e-4 relative
 * to the reference tensor's largest value.
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { loadModel } from "../../lib/models/load";
import { compare, disposeOutput, tinyCheckpoints, TOL_F32, TOL_F32_REL } from "./helpers";
import { readCheckpoint, type RefCheckpoint, type RefOutput } from "./reference/common";
import { gpt2Reference } from "./reference/gpt2";
import { llamaReference } from "./reference/llama";
import { neoxReference } from "./reference/neox";
import { optReference } from "./reference/opt";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

const REFERENCES: [string, (c: RefCheckpoint, ids: number[]) => RefOutput][] = [
  ["llama-gqa", llamaReference],
  ["llama-tied", llamaReference],
  ["gpt2", gpt2Reference],
  ["opt", optReference],
  ["opt-350m-style", optReference],
  ["neox", neoxReference], // parallel residual, rotary on 2 of 8 head dims, old BOOL mask buffers
  ["neox-sequential", neoxReference], // use_parallel_residual=false, rotary_pct 0.5, tied
  ["qwen2", llamaReference], // q/k/v biases, no o_proj bias, tied, rope_theta 1e6
  ["qwen2-window", llamaReference], // untied, 3-position window on block 1 only
  ["mistral", llamaReference], // one kv head, 4-position window on every block, 7 positions
];

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
