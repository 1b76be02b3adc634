/**
 * The consecutive-state regularizers of Razzhigaev et al. (2024, §4), as extra training losses:
 *
 *   cosine:   R = sum_{l=1..L} mean_tokens (1 - cos(h_l, h_{l-1}))
 *   mse:      R = sum_{l=1..L} mean_tokens ||h_l - h_{l-1}||^2             (squared L2 over d_model)
 *   mse-mean: R = sum_{l=1..L} mean_tokens ||h_l - h_{l-1}||^2 / d_model   (mean over d_model)
 *
 * `mse` is the paper's formula as printed; it grows with the width and with the stream's scale
 * (3,443 on 16 held-out windows of the shipped model, so lambda 0.5 would be ~1,000x the LM
 * loss). `mse-mean` is the per-d_model form, what torch's F.mse_loss(h_l, h_{l-1}) computes
 * (mean over batch, pos and d_model): free of the width, the most plausible reading of the
 * paper's lambda (docs/training.md). It is not free of the activation scale (26.9 there); a
 * form relative to ||h_{l-1}||^2 would be, but the embedding pair dominates it (block 1 alone:
 * 1,347 there, the byte embedding being ~36x smaller than block 1's output), so it is not offered.
 *
 * and the training loss is LM + lambda * R (`--reg-weight` is lambda). Minimizing R pulls each
 * block's output towards its input (raises their cosine, shrinks the update a block writes).
 *
 * Which states: the residual stream only, one pair per block. h_0 is the token embedding
 * (hidden state 0) and h_l the residual stream after block l, so h_L is the last block's output
 * *before* the final RMSNorm (ForwardOutput.residPreFinalNorm), not hidden state L (after the
 * norm, whose rescaling has nothing to do with what the block adds). L = n_layers pairs.
 * How it is averaged: per pair, the mean over all batch x pos tokens (every position counts
 * equally, the BOS position included); the pairs are summed, not averaged, as in the paper's
 * formula, so R for cosine lies in [0, 2 L].
 */
import * as tf from "@tensorflow/tfjs-core";
import { ensureGradients } from "../models/common/gradients";
import type { ForwardOutput } from "../models/types";

/** Regularizer kinds of `linearity train --reg`. */
export const REGULARIZERS = ["none", "cosine", "mse", "mse-mean"] as const;
export type RegularizerKind = (typeof REGULARIZERS)[number];

/** Norms below this count as this in the cosine's denominator (as torch.cosine_similarity). */
const COSINE_EPS = 1e-8;

/**
 * The residual-stream states the regularizer sums over: h_0 .. h_L, n_layers + 1 tensors
 * [batch, pos, d_model] (the output's own tensors, not copies).
 */
export function residualStates(out: ForwardOutput): tf.Tensor3D[] {
  const n = out.hiddenStates.length - 1; // n_layers
  return [...out.hiddenStates.slice(0, n), out.residPreFinalNorm];
}

/** Mean over tokens of 1 - cos(a, b) per token; a, b [batch, pos, d_model]. */
function meanCosineDistance(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  const dot = tf.sum(tf.mul(a, b), -1); // [batch, pos]
  const normA = tf.maximum(tf.sqrt(tf.sum(tf.square(a), -1)), COSINE_EPS);
  const normB = tf.maximum(tf.sqrt(tf.sum(tf.square(b), -1)), COSINE_EPS);
  return tf.mean(tf.sub(1, tf.div(dot, tf.mul(normA, normB))));
}

/** Mean over tokens of ||a - b||^2 (summed over d_model); a, b [batch, pos, d_model]. */
function meanSquaredDistance(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  return tf.mean(tf.sum(tf.square(tf.sub(a, b)), -1));
}

/** Mean over tokens and d_model of (a - b)^2; a, b [batch, pos, d_model] (torch's F.mse_loss). */
function meanSquaredError(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  return tf.mean(tf.square(tf.sub(a, b)));
}

/** One block's term of R for `kind`. */
function pairTerm(kind: Exclude<RegularizerKind, "none">, current: tf.Tensor3D, previous: tf.Tensor3D): tf.Scalar {
  switch (kind) {
    case "cosine":
      return meanCosineDistance(current, previous);
    case "mse":
      return meanSquaredDistance(current, previous);
    case "mse-mean":
      return meanSquaredError(current, previous);
  }
}

/**
 * R (unweighted) over consecutive `states` [batch, pos, d_model] (at least two; normally
 * {@link residualStates}): the sum over pairs (states[l-1], states[l]) of the per-token mean.
 * Differentiable in the states.
 */
export function consecutiveStateRegularizer(kind: Exclude<RegularizerKind, "none">, states: readonly tf.Tensor3D[]): tf.Scalar {
  if (states.length < 2) throw new Error(`regularizer: expected at least 2 states, got ${states.length}`);
  ensureGradients();
  return tf.tidy(() => {
    const perPair: tf.Scalar[] = [];
    for (let l = 1; l < states.length; l++) {
      perPair.push(pairTerm(kind, states[l], states[l - 1]));
    }
    return tf.addN(perPair) as tf.Scalar;
  });
}
