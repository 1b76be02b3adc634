/**
 * The forward passes of one extraction batch: token ids in, the stored states of every token out.
 * Runs in the main thread or in a worker of ForwardPool (forward-worker.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import { idsTensor } from "../models/common/ids";
import type { Model } from "../models/types";
import type { PointStates } from "./points";

/**
 * Run the model over each sequence of a batch and return, per state, the states of all tokens
 * of the batch concatenated ([tokens, d_model] row-major): the n_layers + 1 hidden states, or
 * the sublayer points of `points` (see lib/extract/points.ts). Sequences of equal length run
 * together in one forward pass (no padding, which models may not support).
 */
export async function batchStates(model: Model, batch: readonly { tokenIds: Int32Array }[], points?: PointStates): Promise<Float32Array[]> {
  const { n_layers, d_model } = model.config;
  const nStates = points?.names.length ?? n_layers + 1;
  const nTokens = batch.reduce((n, s) => n + s.tokenIds.length, 0);
  const states = Array.from({ length: nStates }, () => new Float32Array(nTokens * d_model));
  // Row offset of each sequence in the concatenated output.
  const rowOf: number[] = [];
  batch.reduce((row, s, i) => ((rowOf[i] = row), row + s.tokenIds.length), 0);
  // Group sequences by length, keeping their positions in the batch.
  const byLength = new Map<number, number[]>();
  batch.forEach((s, i) => byLength.set(s.tokenIds.length, [...(byLength.get(s.tokenIds.length) ?? []), i]));
  for (const [pos, members] of byLength) {
    const ids = new Int32Array(members.length * pos);
    members.forEach((m, b) => ids.set(batch[m].tokenIds, b * pos));
    const hidden = tf.tidy(() => {
      const input = idsTensor(model.config.d_vocab, ids, [members.length, pos]); // [batch, pos], checked here once
      if (points === undefined) return model.forward(input, { logits: false }).hiddenStates; // n_layers+1 x [batch, pos, d_model]
      return points.select(model.forward(input, { logits: false, points: points.request })); // nStates x [batch, pos, d_model]
    });
    try {
      for (let s = 0; s < nStates; s++) {
        const data = (await hidden[s].data()) as Float32Array; // [batch, pos, d_model]
        members.forEach((m, b) => {
          states[s].set(data.subarray(b * pos * d_model, (b + 1) * pos * d_model), rowOf[m] * d_model);
        });
      }
    } finally {
      tf.dispose(hidden);
    }
  }
  return states;
}
