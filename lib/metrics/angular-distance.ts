/**
 * Angular distance arccos(cos)/pi between matching rows of two states, after Gromov et al. (2024,
 * "The Unreasonable Ineffectiveness of the Deeper Layers").
 */
import * as tf from "@tensorflow/tfjs-core";
import { wholeTensorCosines } from "./cosine";

/** Options of {@link angularDistance}. */
export interface AngularDistanceOptions {
  /**
   * Tokens per sample, in order (summing to tokens). When given, only the LAST token of each
   * sample is used, as Gromov et al. do for causal models.
   */
  sampleLengths?: readonly number[];
}

/**
 * Angular distance between states: mean over tokens of arccos(cos(x_i, y_i)) / pi, in [0, 1].
 * x, y [tokens, d_model]; with `sampleLengths`, the mean over the last token of each sample.
 */
export function angularDistance(x: tf.Tensor2D, y: tf.Tensor2D, opts: AngularDistanceOptions = {}): number {
  const fn = "angularDistance";
  const acc = wholeTensorCosines(fn, x, y, opts.sampleLengths !== undefined);
  if (opts.sampleLengths === undefined) return acc.meanAngularDistance;
  const lengths = opts.sampleLengths;
  let total = 0;
  for (let k = 0; k < lengths.length; k++) {
    const L = lengths[k];
    if (!(Number.isInteger(L) && L > 0)) throw new Error(`${fn}: 'sampleLengths' must hold positive integers, got ${L} at index ${k}`);
    total += L;
  }
  if (total !== x.shape[0]) throw new Error(`${fn}: 'sampleLengths' sum to ${total}, expected tokens=${x.shape[0]}`);
  let end = 0, sum = 0;
  for (const L of lengths) {
    end += L;
    sum += Math.acos(acc.cosines![end - 1]) / Math.PI;
  }
  return sum / lengths.length;
}
