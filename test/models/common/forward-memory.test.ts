/**
 * A forward pass frees each block's intermediates (normed inputs, q/k/v, the MLP's hidden
 * activations) as the block returns: peak memory grows by about one hidden state per block, not
 * by a block's worth of intermediates; with onHiddenState, by nothing per block. Measured with
 * tf.profile on two depths of one model.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { llamaForward } from "../../../lib/models/llama/forward";
import { initialStateDict, trainableFromStateDict, trainedModelConfig, type ModelSizes } from "../../../lib/train/model";
import { Rng } from "../../../lib/train/random";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const D_MODEL = 64;
const TOKENS = 2 * 48;

/** A trained-layout Llama of `nLayers` blocks and its token ids; dispose() frees them. */
function tinyModel(nLayers: number) {
  const sizes: ModelSizes = { n_layers: nLayers, d_model: D_MODEL, n_heads: 4, n_kv_heads: 2, d_mlp: 4 * D_MODEL, n_ctx: 64, rope_theta: 10000, norm_eps: 1e-5, tie_word_embeddings: false };
  const sd = initialStateDict(sizes, new Rng(3));
  const { params, variables } = trainableFromStateDict(trainedModelConfig(sizes), sd);
  const ids = tf.tensor2d(Int32Array.from({ length: TOKENS }, (_, i) => (i * 37) % 256), [2, TOKENS / 2], "int32");
  const cfg = trainedModelConfig(sizes);
  return { cfg, params, ids, dispose: () => tf.dispose([ids, ...Object.values(sd), ...variables.map((v) => v.variable)]) };
}

/** Bytes a forward of an n-block model held at its peak above what was resident before it; `handOut`: states to onHiddenState. */
async function peakAbove(nLayers: number, handOut = false): Promise<number> {
  const { cfg, params, ids, dispose } = tinyModel(nLayers);
  const opts = { logits: false, ...(handOut ? { onHiddenState: () => undefined } : {}) };
  tf.dispose(llamaForward(cfg, params, ids, opts).hiddenStates); // tables made once
  const base = tf.memory().numBytes;
  const info = await tf.profile(() => llamaForward(cfg, params, ids, opts).hiddenStates);
  dispose();
  for (const t of info.result as tf.Tensor[]) t.dispose();
  return info.peakBytes - base;
}

describe("forward memory", () => {
  it("peak grows by about one hidden state per block, not by the block's intermediates", async () => {
    const state = TOKENS * D_MODEL * 4;
    const perBlock = ((await peakAbove(6)) - (await peakAbove(2))) / 4;
    // One hidden state kept per block, plus slack for where the peak falls within a block. A block
    // that kept its intermediates held 51 states' worth here (q, k, v and their heads, the
    // norms, 4 x d_model MLP activations).
    expect(perBlock).toBeGreaterThanOrEqual(state);
    expect(perBlock).toBeLessThan(2 * state);
  });

  it("with onHiddenState the peak does not grow with depth: each state is freed once the next block has read it", async () => {
    const state = TOKENS * D_MODEL * 4;
    const deeper = (await peakAbove(6, true)) - (await peakAbove(2, true));
    expect(Math.abs(deeper)).toBeLessThan(state / 4);
  });

  it("onHiddenState hands out the same n_layers + 1 states, bit for bit, in order, and returns none; nothing is left behind", () => {
    const { cfg, params, ids, dispose } = tinyModel(3);
    const kept = llamaForward(cfg, params, ids, { logits: false });
    const before = tf.memory().numTensors;
    const handed: { index: number; values: Float32Array }[] = [];
    const out = llamaForward(cfg, params, ids, { logits: false, onHiddenState: (index, h) => handed.push({ index, values: h.dataSync() as Float32Array }) });
    expect(out.hiddenStates).toEqual([]);
    expect(handed.map((h) => h.index)).toEqual([0, 1, 2, 3]);
    handed.forEach(({ values }, s) => {
      const want = kept.hiddenStates[s].dataSync();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - values[i]));
      expect(worst, `state ${s}`).toBe(0);
    });
    // What comes back is the residual before the final norm, as without onHiddenState.
    const a = out.residPreFinalNorm.dataSync(), b = kept.residPreFinalNorm.dataSync();
    expect(a.every((v, i) => Math.abs(v - b[i]) === 0)).toBe(true);
    out.residPreFinalNorm.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...kept.hiddenStates, kept.residPreFinalNorm]);
    dispose();
  });

  it("onHiddenState is refused with points and under a gradient tape", () => {
    const { cfg, params, ids, dispose } = tinyModel(2);
    const onHiddenState = () => undefined;
    expect(() => llamaForward(cfg, params, ids, { logits: false, points: ["resid_mid"], onHiddenState })).toThrow(/onHiddenState cannot be combined with points or a gradient tape$/);
    expect(() => tf.grad((x: tf.Tensor) => tf.add(tf.sum(llamaForward(cfg, params, ids, { logits: false, onHiddenState }).residPreFinalNorm), x))(tf.scalar(1))).toThrow(
      /onHiddenState cannot be combined with points or a gradient tape$/,
    );
    dispose();
  });
});
