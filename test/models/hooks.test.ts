/**
 * Named points and block overrides of every family's forward, against the float64 references
 * (test/models/reference/), which compute each block's sublayer states from the maths and the
 * HF weight names on their own.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { initBackend } from "../../lib/backend";
import { idsTensor } from "../../lib/models/common/ids";
import { loadModel } from "../../lib/models/load";
import { saveCheckpoint } from "../../lib/models/save";
import { BLOCK_POINTS, HOOK_POINTS, type ForwardOutput } from "../../lib/models/types";
import { disposeOutput, maxDiff, tinyCheckpoints, TOL_F32 } from "./helpers";
import { readCheckpoint, type RefCheckpoint, type RefOptions, type RefOutput, type Rows } from "./reference/common";
import { gpt2Reference } from "./reference/gpt2";
import { llamaReference } from "./reference/llama";
import { optReference } from "./reference/opt";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

type Reference = (c: RefCheckpoint, ids: number[], opts?: RefOptions) => RefOutput;
const REFERENCES: [string, Reference][] = [
  ["llama-gqa", llamaReference],
  ["llama-tied", llamaReference],
  ["gpt2", gpt2Reference],
  ["opt", optReference],
  ["opt-350m-style", optReference],
];
const ROWS = [
  [3, 17, 5, 9, 2, 11, 40],
  [8, 1, 1, 30, 7, 19, 4],
];

/** Largest |tfjs - reference| of one tensor [batch, pos, d_model] against one Rows per batch row. */
function diffRows(t: tf.Tensor3D, refs: Rows[]): number {
  return Math.max(...refs.map((r, row) => maxDiff(t, row, r)));
}

function disposeAll(out: ForwardOutput): void {
  disposeOutput(out);
  tf.dispose(Object.values(out.points).flat());
}

describe("named points equal the float64 reference's sublayer states", () => {
  for (const [variant, reference] of REFERENCES) {
    it(`${variant}: resid_pre, attn_out, resid_mid, mlp_out, resid_post of every block and ln_final within ${TOL_F32}`, () => {
      const model = loadModel(ck.dirs[variant]);
      const ids = tf.tensor2d(ROWS, [2, 7], "int32");
      const out = model.forward(ids, { points: [...HOOK_POINTS] });
      const refs = ROWS.map((r) => reference(readCheckpoint(ck.dirs[variant]), r));
      const n = model.config.n_layers;
      for (const name of BLOCK_POINTS) {
        const got = out.points[name]!;
        expect(got.length).toBe(n);
        for (let l = 0; l < n; l++) {
          expect(got[l].shape).toEqual([2, 7, model.config.d_model]);
          const d = diffRows(got[l], refs.map((r) => r.blocks[l][name]!));
          if (process.env.SHOW_DIFFS) console.log(variant, name, l, d);
          expect(d).toBeLessThan(TOL_F32);
        }
      }
      expect(diffRows(out.points.ln_final![0], refs.map((r) => r.lnFinal))).toBeLessThan(TOL_F32);
      // Not vacuous: both sublayers move the residual stream by more than the tolerance.
      for (let l = 0; l < n; l++) {
        expect(Math.max(...out.points.attn_out![l].dataSync().map(Math.abs))).toBeGreaterThan(0.05);
        expect(Math.max(...out.points.mlp_out![l].dataSync().map(Math.abs))).toBeGreaterThan(0.05);
      }
      disposeAll(out);
      ids.dispose();
      model.dispose();
    });
  }

  it("returns no points unless asked, rejects unknown names, and leaks no tensors", () => {
    const model = loadModel(ck.dirs["llama-gqa"]);
    const ids = tf.tensor2d(ROWS, [2, 7], "int32");
    const before = tf.memory().numTensors;
    const plain = model.forward(ids);
    expect(plain.points).toEqual({});
    disposeAll(plain);
    const all = model.forward(ids, { points: ["resid_mid", "ln_final"] });
    expect(Object.keys(all.points).sort()).toEqual(["ln_final", "resid_mid"]);
    // Each point is its own handle: disposing the hidden states leaves the points readable.
    disposeOutput(all);
    expect(all.points.resid_mid![0].isDisposed).toBe(false);
    tf.dispose(Object.values(all.points).flat());
    expect(tf.memory().numTensors).toBe(before);
    expect(() => model.forward(ids, { points: ["resid_middle" as "resid_mid"] })).toThrow(
      /llamaForward: unknown point 'resid_middle' \(known: resid_pre, attn_out, resid_mid, mlp_out, resid_post, ln_final\)/,
    );
    ids.dispose();
    model.dispose();
  });
});

describe("blockOverride replaces a block's computation", () => {
  // Block 0 removed (output = input); block 1 replaced by an affine map 0.5 x + 0.25.
  const override = (l: number, x: Rows): Rows | undefined =>
    l === 0 ? x : l === 1 ? x.map((row) => row.map((v) => 0.5 * v + 0.25)) : undefined;
  for (const [variant, reference] of REFERENCES) {
    it(`${variant}: states and logits equal the reference with the same replacements`, () => {
      const model = loadModel(ck.dirs[variant]);
      expect(model.config.n_layers).toBeGreaterThanOrEqual(2);
      const ids = tf.tensor2d(ROWS, [2, 7], "int32");
      const out = model.forward(ids, {
        points: ["resid_pre", "resid_post"],
        blockOverride: (l, x) => (l === 0 ? x : l === 1 ? tf.add<tf.Tensor3D>(tf.mul(x, 0.5), 0.25) : undefined),
      });
      const refs = ROWS.map((r) => reference(readCheckpoint(ck.dirs[variant]), r, { override }));
      out.hiddenStates.forEach((s, i) => expect(diffRows(s, refs.map((r) => r.states[i]))).toBeLessThan(TOL_F32));
      expect(diffRows(out.logits!, refs.map((r) => r.logits))).toBeLessThan(TOL_F32);
      // The removed block passes its input through unchanged, as a separate handle.
      expect(out.hiddenStates[1]).not.toBe(out.hiddenStates[0]);
      expect(Array.from(out.hiddenStates[1].dataSync())).toEqual(Array.from(out.hiddenStates[0].dataSync()));
      expect(diffRows(out.points.resid_post![1], refs.map((r) => r.blocks[1].resid_post))).toBeLessThan(TOL_F32);
      disposeAll(out);
      ids.dispose();
      model.dispose();
    });
  }

  it("refuses sublayer points of a replaced block and outputs of the wrong shape", () => {
    const model = loadModel(ck.dirs["gpt2"]);
    const ids = tf.tensor2d(ROWS, [2, 7], "int32");
    expect(() => model.forward(ids, { points: ["attn_out"], blockOverride: (l, x) => (l === 1 ? x : undefined) })).toThrow(
      /gpt2Forward: block 1 is replaced by blockOverride, so it has no 'attn_out' point/,
    );
    expect(() => model.forward(ids, { blockOverride: (l, x) => (l === 0 ? tf.slice(x, [0, 0, 0], [1, 7, -1]) : undefined) })).toThrow(
      /gpt2Forward: blockOverride for block 0 returned shape \[1, 7, 32\], expected \[2, 7, 32\]/,
    );
    ids.dispose();
    model.dispose();
  });
});

describe("token ids are checked once, on the host", () => {
  it("idsTensor checks values up front and the forward does not read them back", () => {
    const model = loadModel(ck.dirs["llama-gqa"]);
    const dVocab = model.config.d_vocab;
    expect(() => idsTensor(dVocab, [1, dVocab], [1, 2])).toThrow(new RegExp(`idsTensor: 'ids' has ${dVocab} at row 0, pos 1; expected 0..${dVocab - 1}`));
    expect(() => idsTensor(dVocab, [1, 2, 3], [1, 2])).toThrow(/idsTensor: 3 ids do not fill \[batch=1, pos=2\]/);
    const checked = idsTensor(dVocab, Int32Array.from(ROWS.flat()), [2, 7]);
    const spy = vi.spyOn(checked, "dataSync");
    const out = model.forward(checked, { logits: false });
    expect(spy).not.toHaveBeenCalled();
    disposeAll(out);
    // The same values through a plain tensor are read and checked by the forward itself.
    const plain = tf.tensor2d([[1, dVocab]], [1, 2], "int32");
    expect(() => model.forward(plain)).toThrow(new RegExp(`llamaForward: 'ids' has ${dVocab} at row 0, pos 1`));
    // A tensor checked against a larger vocabulary is still refused by a smaller model.
    const wide = idsTensor(dVocab + 5, [dVocab + 2], [1, 1]);
    expect(() => model.forward(wide)).toThrow(new RegExp(`llamaForward: 'ids' has ${dVocab + 2}; expected 0..${dVocab - 1}`));
    tf.dispose([checked, plain, wide]);
    model.dispose();
  });
});

describe("every family's weights convert back to its checkpoint format", () => {
  for (const [variant] of REFERENCES) {
    it(`${variant}: model.stateDict() saved and loaded again gives the same forward exactly`, () => {
      const model = loadModel(ck.dirs[variant]);
      const dir = path.join(ck.root, `${variant}-resaved`);
      const sd = model.stateDict();
      saveCheckpoint(dir, model.hfConfig, sd, "F32");
      tf.dispose(Object.values(sd));
      const again = loadModel(dir);
      const ids = tf.tensor2d(ROWS, [2, 7], "int32");
      const a = model.forward(ids);
      const b = again.forward(ids);
      a.hiddenStates.forEach((s, i) => expect(Array.from(b.hiddenStates[i].dataSync())).toEqual(Array.from(s.dataSync())));
      expect(Array.from(b.logits!.dataSync())).toEqual(Array.from(a.logits!.dataSync()));
      disposeAll(a);
      disposeAll(b);
      ids.dispose();
      model.dispose();
      again.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});
