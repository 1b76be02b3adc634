/**
 * Every family's forward with its products on the native BLAS (as `linearity extract` and
 * `linearity eval` run it) against the float64 reference forwards, with the same tolerances as
 * test/models/forward-reference.test.ts, plus the wasm-kernel forward of the same run. Skipped,
 * with a notice, where the native BLAS is unavailable or another backend is forced.
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { storedLayoutCount } from "../../lib/models/common/read-on-use";
import { loadModel, openCheckpoint } from "../../lib/models/load";
import { openLocalModel } from "../../lib/models/open";
import { planModel, WASM_HEAP_USABLE } from "../../lib/models/stream/plan";
import type { ForwardOutput } from "../../lib/models/types";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { nativeMatmulInstalled } from "../../lib/native/wasm-matmul";
import { compare, disposeOutput, tinyCheckpoints, TOL_F32, TOL_F32_REL } from "../models/helpers";
import { readCheckpoint } from "../models/reference/common";
import { REFERENCES } from "../models/reference/variants";

const forced = process.env.LINEARITY_BACKEND;
const otherBackend = forced !== undefined && forced !== "" && forced !== "wasm";
const runs = nativeBlas() !== undefined && !otherBackend;
if (!runs) console.warn(`test/native/forward-native.test.ts: SKIPPED, ${otherBackend ? `LINEARITY_BACKEND=${forced}` : nativeBlasStatus()}`);

const ROWS = [
  [3, 17, 5, 9, 2, 11, 40],
  [8, 1, 1, 30, 7, 19, 4],
];

let ck: ReturnType<typeof tinyCheckpoints>;
/** Hidden states and logits of each variant from the wasm kernels, before the native ones are installed. */
const wasmOutputs = new Map<string, Float32Array[]>();

/** Every hidden state and the logits of a forward, as arrays. */
const arrays = (out: ForwardOutput): Float32Array[] => [...out.hiddenStates, out.logits!].map((t) => t.dataSync() as Float32Array);

beforeAll(async () => {
  if (!runs) return;
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
  for (const [variant] of REFERENCES) {
    const model = loadModel(ck.dirs[variant]);
    const ids = tf.tensor2d(ROWS, [2, 7], "int32");
    const out = model.forward(ids);
    wasmOutputs.set(variant, arrays(out));
    disposeOutput(out);
    ids.dispose();
    model.dispose();
  }
  await initBackend({ quiet: true, nativeMatmul: true });
  expect(nativeMatmulInstalled()).toBe(true);
});
afterAll(() => ck?.cleanup());

describe.skipIf(!runs)("forward passes on the native BLAS match the float64 reference", () => {
  for (const [variant, reference] of REFERENCES) {
    it(`${variant}: every hidden state, the residual and the logits within ${TOL_F32} (abs and rel); the wasm forward within 1e-5`, () => {
      const model = loadModel(ck.dirs[variant]);
      const ids = tf.tensor2d(ROWS, [2, 7], "int32");
      const out = model.forward(ids);
      const refCk = readCheckpoint(ck.dirs[variant]);
      const diffs = compare(out, ROWS.map((r) => reference(refCk, r)));
      for (const d of [...diffs.states, diffs.resid, diffs.logits]) expect(d).toBeLessThan(TOL_F32);
      for (const d of [...diffs.relStates, diffs.relResid, diffs.relLogits]) expect(d).toBeLessThan(TOL_F32_REL);
      // Against the wasm kernels: float32 summation order only.
      const mine = arrays(out);
      const theirs = wasmOutputs.get(variant)!;
      let worst = 0;
      mine.forEach((a, s) => a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - theirs[s][i])))));
      expect(worst).toBeLessThan(1e-5);
      disposeOutput(out);
      ids.dispose();
      model.dispose();
    });
  }
});

describe.skipIf(!runs)("streamed forwards on the native BLAS keep nn.Linear weights [out, in] and match the float64 reference", () => {
  for (const [variant, reference] of REFERENCES) {
    it(`${variant}: block by block and (Llama, OPT) tensor by tensor, within ${TOL_F32} of the reference and 1e-5 of the whole model`, () => {
      const ids = tf.tensor2d(ROWS, [2, 7], "int32");
      const whole = loadModel(ck.dirs[variant]);
      const wholeOut = whole.forward(ids);
      const wholeArrays = arrays(wholeOut);
      disposeOutput(wholeOut);
      whole.dispose();
      const opened = openCheckpoint(ck.dirs[variant]);
      const blockPeak = planModel(opened, 2 ** 40, "streamed", "--memory", WASM_HEAP_USABLE, "block").weightPeak;
      const budgets = [undefined, ...(opened.family.projectionsOnUse ? [blockPeak - 1] : [])];
      const refCk = readCheckpoint(ck.dirs[variant]);
      for (const memory of budgets) {
        const model = openLocalModel(ck.dirs[variant], { run: "streamed", memory, readBy: "block", noTokenizer: true });
        expect(model.plan.onUse).toBe(memory !== undefined);
        const marks = storedLayoutCount();
        const out = model.forward(ids);
        // Every family but GPT-2 (Conv1D, already [in, out]) reads nn.Linear weights.
        if (opened.family.name !== "gpt2") expect(storedLayoutCount(), `${variant}: weights kept [out, in]`).toBeGreaterThan(marks);
        const diffs = compare(out, ROWS.map((r) => reference(refCk, r)));
        for (const d of [...diffs.states, diffs.resid, diffs.logits]) expect(d).toBeLessThan(TOL_F32);
        for (const d of [...diffs.relStates, diffs.relResid, diffs.relLogits]) expect(d).toBeLessThan(TOL_F32_REL);
        let worst = 0;
        arrays(out).forEach((a, s) => a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - wholeArrays[s][i])))));
        expect(worst).toBeLessThan(1e-5);
        disposeOutput(out);
        model.dispose();
      }
      ids.dispose();
    });
  }
});
