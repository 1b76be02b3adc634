/**
 * A forward pass frees each block's intermediates (normed inputs, q/k/v, the MLP's hidden
 * activations) as the block returns: peak memory grows by about one hidden state per block, not
 * by a block's worth of intermediates. Measured with tf.profile on two depths of one model.
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

/** Bytes a forward of an n-block model held at its peak above what was resident before it. */
async function peakAbove(nLayers: number): Promise<number> {
  const sizes: ModelSizes = { n_layers: nLayers, d_model: D_MODEL, n_heads: 4, n_kv_heads: 2, d_mlp: 4 * D_MODEL, n_ctx: 64, rope_theta: 10000, norm_eps: 1e-5, tie_word_embeddings: false };
  const sd = initialStateDict(sizes, new Rng(3));
  const { params, variables } = trainableFromStateDict(trainedModelConfig(sizes), sd);
  const ids = tf.tensor2d(Int32Array.from({ length: TOKENS }, (_, i) => (i * 37) % 256), [2, TOKENS / 2], "int32");
  const cfg = trainedModelConfig(sizes);
  tf.dispose(llamaForward(cfg, params, ids, { logits: false }).hiddenStates); // tables made once
  const base = tf.memory().numBytes;
  const info = await tf.profile(() => llamaForward(cfg, params, ids, { logits: false }).hiddenStates);
  tf.dispose([ids, ...Object.values(sd), ...variables.map((v) => v.variable)]);
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
});
