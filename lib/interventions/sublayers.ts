/**
 * Linearity of each block's two sublayers, read at the forward's named points: attention
 * (resid_pre -> resid_mid) and MLP (resid_mid -> resid_post), next to the whole block
 * (resid_pre -> resid_post), each also without the residual (the score of x against y - x).
 * Streamed over batches: memory O(n_layers d_model^2).
 */
import * as tf from "@tensorflow/tfjs-core";
import { idsTensor } from "../models/common/ids";
import { LinearityAccumulator } from "../metrics/linearity-accumulator";
import type { Model } from "../models/types";
import type { EvalIds } from "./evaluate";

/** Scores per block l = 0..n_layers-1. */
export interface SublayerLinearity {
  /** resid_pre -> resid_mid. */
  readonly attention: number[];
  /** resid_mid -> resid_post. */
  readonly mlp: number[];
  /** resid_pre -> resid_post. */
  readonly block: number[];
  /** The same three without the residual: score of x against y - x. */
  readonly attentionResidual: number[];
  readonly mlpResidual: number[];
  readonly blockResidual: number[];
  readonly tokens: number;
}

/** Sublayer linearity of `model` on `ids` (see the file comment). */
export function sublayerLinearity(model: Model, ids: EvalIds, batchSize = 8): SublayerLinearity {
  const { n_layers: n, d_model: d } = model.config;
  const make = (what: string) =>
    Array.from({ length: n }, (_, l) => new LinearityAccumulator(d, d, { fn: "sublayerLinearity", names: [`${what} input ${l}`, `${what} output ${l}`], residual: true }));
  const attn = make("attention"), mlp = make("mlp"), block = make("block");
  const { seqLen, sequences } = ids;
  for (let start = 0; start < sequences; start += batchSize) {
    const b = Math.min(batchSize, sequences - start);
    const points = tf.tidy(() => {
      const input = idsTensor(model.config.d_vocab, ids.ids.subarray(start * seqLen, (start + b) * seqLen), [b, seqLen]); // [batch, pos]
      const out = model.forward(input, { logits: false, points: ["resid_pre", "resid_mid", "resid_post"] });
      tf.dispose([...out.hiddenStates, out.residPreFinalNorm]);
      return out.points;
    });
    try {
      for (let l = 0; l < n; l++) {
        // Each point [batch, pos, d_model] read as [tokens, d_model] rows.
        const pre = points.resid_pre![l].dataSync() as Float32Array;
        const mid = points.resid_mid![l].dataSync() as Float32Array;
        const post = points.resid_post![l].dataSync() as Float32Array;
        attn[l].add(pre, mid);
        mlp[l].add(mid, post);
        block[l].add(pre, post);
      }
    } finally {
      tf.dispose(Object.values(points).flat());
    }
  }
  const scores = (accs: LinearityAccumulator[]) => accs.map((a) => a.result());
  const [a, m, k] = [scores(attn), scores(mlp), scores(block)];
  return {
    attention: a.map((r) => r.score), mlp: m.map((r) => r.score), block: k.map((r) => r.score),
    attentionResidual: a.map((r) => r.residualScore ?? NaN), mlpResidual: m.map((r) => r.residualScore ?? NaN),
    blockResidual: k.map((r) => r.residualScore ?? NaN),
    tokens: sequences * seqLen,
  };
}
