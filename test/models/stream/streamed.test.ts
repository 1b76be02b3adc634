/**
 * Streamed runs (lib/models/stream/) against whole-model runs of the same checkpoint, for every
 * tiny variant (each family and option, F32, F16, BF16 and sharded copies), under a budget that
 * holds a single block: hidden states, residual and named points bit for bit (the same block code
 * on the same float32 weights), logits within float32 rounding of the whole product (the output
 * projection is multiplied in vocabulary chunks), and the refusal of a budget one byte too small.
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { openCheckpoint } from "../../../lib/models/load";
import { openLocalModel } from "../../../lib/models/open";
import { blockFloat32Bytes, modelFloat32Bytes } from "../../../lib/models/read";
import { planModel, WASM_HEAP_USABLE } from "../../../lib/models/stream/plan";
import type { ForwardOutput } from "../../../lib/models/types";
import { tinyCheckpoints } from "../helpers";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

/** Largest |a - b| over two tensors of one shape. */
function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync(), y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

function dispose(out: ForwardOutput): void {
  tf.dispose([...out.hiddenStates, out.residPreFinalNorm, ...(out.logits ? [out.logits] : []), ...Object.values(out.points).flat()]);
}

/** Logits: the chunked product may sum in another order than the whole one; float32 rounding of these sizes. */
const LOGITS_TOL = 1e-5;

describe("streamed runs equal whole-model runs", () => {
  it("covers every tiny variant (each family, F16, BF16, shards)", () => {
    expect(Object.keys(ck.dirs).length).toBeGreaterThanOrEqual(10);
    for (const must of ["gpt2", "opt", "llama-gqa", "neox", "llama-gqa-bf16", "llama-gqa-f16", "llama-gqa-sharded"]) expect(ck.dirs[must]).toBeDefined();
  });

  it("each variant under a budget that holds one block: states and points bit for bit, logits within 1e-5", () => {
    for (const [variant, dir] of Object.entries(ck.dirs)) {
      const opened = openCheckpoint(dir);
      const streamedNeed = planModel(opened, 2 ** 40, "streamed").weightPeak;
      // The budget holds one block (twice, while converted) but not the whole model.
      expect(streamedNeed).toBeLessThan(modelFloat32Bytes(opened) + 2 * blockFloat32Bytes(opened, 0));
      const whole = openLocalModel(dir, { run: "whole", noTokenizer: true });
      const streamed = openLocalModel(dir, { memory: streamedNeed, noTokenizer: true });
      expect(whole.streamed).toBe(false);
      expect(streamed.streamed).toBe(true);
      expect(streamed.weights).toBeUndefined();
      const before = tf.memory().numTensors;
      const ids = tf.tensor2d([[3, 17, 5, 9, 2, 11, 40], [8, 1, 1, 30, 7, 19, 4]], [2, 7], "int32");
      const points = ["resid_mid", "attn_out", "mlp_out", "ln_final"] as const;
      const a = whole.forward(ids, { points: [...points] });
      const b = streamed.forward(ids, { points: [...points] });
      a.hiddenStates.forEach((h, s) => expect(maxAbsDiff(h, b.hiddenStates[s]), `${variant} state ${s}`).toBe(0));
      expect(maxAbsDiff(a.residPreFinalNorm, b.residPreFinalNorm), `${variant} resid`).toBe(0);
      for (const p of points) a.points[p]!.forEach((t, l) => expect(maxAbsDiff(t, b.points[p]![l]), `${variant} ${p} ${l}`).toBe(0));
      expect(maxAbsDiff(a.logits!, b.logits!), `${variant} logits`).toBeLessThanOrEqual(LOGITS_TOL);
      // The readout (logit lens) of a middle state, streamed in vocabulary chunks.
      const ra = tf.tidy(() => whole.readout.unembed(whole.readout.finalNorm(a.hiddenStates[1])));
      const rb = tf.tidy(() => streamed.readout.unembed(streamed.readout.finalNorm(b.hiddenStates[1])));
      expect(maxAbsDiff(ra, rb), `${variant} readout`).toBeLessThanOrEqual(LOGITS_TOL);
      tf.dispose([ra, rb]);
      dispose(a);
      dispose(b);
      ids.dispose();
      expect(tf.memory().numTensors, `${variant}: the streamed forward leaves no tensor behind`).toBe(before);
      whole.dispose();
      streamed.dispose();
    }
  });

  it("block overrides (removed and affine blocks) behave the same streamed", () => {
    const dir = ck.dirs["llama-gqa"];
    const whole = openLocalModel(dir, { run: "whole", noTokenizer: true });
    const streamed = openLocalModel(dir, { run: "streamed", noTokenizer: true });
    const ids = tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32");
    const override = (l: number, x: tf.Tensor3D) => (l === 0 ? x : l === 1 ? tf.mul(x, 0.5) as tf.Tensor3D : undefined);
    const a = whole.forward(ids, { blockOverride: override, logits: false });
    const b = streamed.forward(ids, { blockOverride: override, logits: false });
    a.hiddenStates.forEach((h, s) => expect(maxAbsDiff(h, b.hiddenStates[s])).toBe(0));
    dispose(a);
    dispose(b);
    whole.dispose();
    streamed.dispose();
  });

  it("a budget one byte smaller than a single block's need is refused up front where blocks run whole (GPT-2, GPT-NeoX), naming the block, its size and the budget", () => {
    for (const variant of ["gpt2", "neox"]) {
      const opened = openCheckpoint(ck.dirs[variant]);
      const need = planModel(opened, 2 ** 40, "streamed").weightPeak;
      const tooSmall = need - 1;
      expect(() => openLocalModel(ck.dirs[variant], { memory: tooSmall, noTokenizer: true })).toThrow(
        new RegExp(`: block \\d+ \\(.*\\d+, \\d+ tensors\\) needs [\\d.]+ KiB in float32 .*more than the memory budget of [\\d.]+ KiB \\(--memory\\)$`),
      );
    }
  });

  it("Llama and OPT read a streamed block tensor by tensor by default; GPT-2 and GPT-NeoX, whose blocks cannot be, read it whole", () => {
    for (const [variant, byTensor] of [["llama-gqa-bf16", true], ["opt", true], ["gpt2", false], ["neox", false]] as const) {
      const plan = planModel(openCheckpoint(ck.dirs[variant]), 2 ** 40, "streamed");
      expect(plan.onUse, variant).toBe(byTensor);
      const model = openLocalModel(ck.dirs[variant], { run: "streamed", noTokenizer: true });
      expect(model.plan.onUse, variant).toBe(byTensor);
      model.dispose();
    }
  });

  it("asked to read whole blocks, Llama and OPT still go tensor by tensor when a block is too large for the budget, and refuse a budget one byte below that need", () => {
    for (const variant of ["llama-gqa-bf16", "opt"]) {
      const opened = openCheckpoint(ck.dirs[variant]);
      const blockPlan = planModel(opened, 2 ** 40, "streamed", "--memory", WASM_HEAP_USABLE, "block");
      expect(blockPlan.onUse).toBe(false);
      const byTensor = planModel(opened, blockPlan.weightPeak - 1, "streamed", "--memory", WASM_HEAP_USABLE, "block");
      expect(byTensor.onUse, variant).toBe(true);
      expect(byTensor.weightPeak).toBeLessThan(blockPlan.weightPeak);
      expect(() => openLocalModel(ck.dirs[variant], { memory: byTensor.weightPeak - 1, readBy: "block", noTokenizer: true })).toThrow(
        new RegExp(`: block \\d+ \\(.*\\d+, \\d+ tensors\\) needs [\\d.]+ KiB in float32 \\(.*; [\\d.]+ KiB read tensor by tensor\\), more than the memory budget of [\\d.]+ KiB \\(--memory\\)$`),
      );
      // The wasm heap's cap, not only the budget, sends a block tensor by tensor.
      expect(planModel(opened, 2 ** 40, "streamed", "--memory", byTensor.weightPeak, "block").onUse).toBe(true);
    }
  });

  it("tensor by tensor: states and points bit for bit with the whole model, fewer bytes resident during the forward, nothing left behind", async () => {
    const points = ["resid_mid", "attn_out", "mlp_out"] as const;
    /** A model's forward after a warm-up, and the most bytes it held above what was resident before it (tf.profile). */
    const run = async (m: ReturnType<typeof openLocalModel>, ids: tf.Tensor2D) => {
      dispose(m.forward(ids, { points: [...points], logits: false })); // tables and caches made once are not weights
      const base = tf.memory().numBytes;
      let out: ForwardOutput | undefined;
      const info = await tf.profile(() => (out = m.forward(ids, { points: [...points], logits: false })).hiddenStates);
      return { out: out!, above: info.peakBytes - base };
    };
    for (const variant of ["llama-gqa", "llama-gqa-bf16", "llama-gqa-sharded", "opt"]) {
      const dir = ck.dirs[variant];
      const opened = openCheckpoint(dir);
      const byTensor = planModel(opened, 2 ** 40, "streamed");
      const before = tf.memory().numTensors;
      const ids = tf.tensor2d([[3, 17, 5, 9, 2, 11, 40], [8, 1, 1, 30, 7, 19, 4]], [2, 7], "int32");
      const whole = openLocalModel(dir, { run: "whole", noTokenizer: true });
      const a = whole.forward(ids, { points: [...points], logits: false });
      whole.dispose();
      const streamed = openLocalModel(dir, { memory: byTensor.weightPeak, noTokenizer: true });
      expect(streamed.plan.onUse, variant).toBe(true);
      const b = await run(streamed, ids);
      streamed.dispose();
      const blockwise = openLocalModel(dir, { run: "streamed", readBy: "block", noTokenizer: true });
      expect(blockwise.plan.onUse, variant).toBe(false);
      const c = await run(blockwise, ids);
      blockwise.dispose();
      a.hiddenStates.forEach((h, s) => expect(maxAbsDiff(h, b.out.hiddenStates[s]), `${variant} state ${s}`).toBe(0));
      for (const p of points) a.points[p]!.forEach((t, l) => expect(maxAbsDiff(t, b.out.points[p]![l]), `${variant} ${p} ${l}`).toBe(0));
      // Not vacuous: a block's weights are never all resident at once.
      expect(b.above, variant).toBeLessThan(c.above);
      [a, b.out, c.out].forEach(dispose);
      ids.dispose();
      expect(tf.memory().numTensors, `${variant}: nothing left behind`).toBe(before);
    }
  });

  it("auto: whole when the weights fit half the budget, streamed otherwise", () => {
    const dir = ck.dirs["opt"];
    const opened = openCheckpoint(dir);
    const wholePeak = planModel(opened, 2 ** 40, "whole").weightPeak;
    expect(planModel(opened, 2 * wholePeak, "auto").mode).toBe("whole");
    expect(planModel(opened, 2 * wholePeak - 1, "auto").mode).toBe("streamed");
  });
});
