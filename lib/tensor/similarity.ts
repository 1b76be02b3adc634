/**
 * Row-wise geometry of hidden states: mean L2 norm, mean cosine of matching rows, and the angular
 * distance arccos(cos)/pi of Gromov et al. (2024, "The Unreasonable Ineffectiveness of the Deeper
 * Layers"). All sums in float64. Tensor functions plus streaming accumulators for chunks.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkChunk, checkFinite, checkShape } from "./check";
import { float32Data } from "./data";

/** Norms below this count as this (torch.nn.functional.cosine_similarity's eps = 1e-8). */
export const COSINE_EPS = 1e-8;

/** Streaming mean of row L2 norms over [rows, d_model] chunks. */
export class MeanNormAccumulator {
  private sum = 0;
  rows = 0;
  constructor(readonly dModel: number, private readonly fn = "MeanNormAccumulator", private readonly arg = "x") {}
  add(x: Float32Array): void {
    const d = this.dModel;
    const r = checkChunk(this.fn, this.arg, x.length, "d_model", d);
    checkFinite(this.fn, this.arg, x, d, this.rows);
    for (let t = 0; t < r; t++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[t * d + c] * x[t * d + c];
      this.sum += Math.sqrt(s);
    }
    this.rows += r;
  }
  get mean(): number {
    return this.sum / this.rows;
  }
}

/**
 * Streaming cosine of matching rows of x and y, [rows, d_model] chunks:
 * cos_i = x_i . y_i / (max(||x_i||, eps) max(||y_i||, eps)) (a zero row gives 0, as torch).
 * Keeps the mean cosine, the mean angular distance arccos(cos_i)/pi, and optionally the
 * per-row cosines (`keepRows`).
 */
export class CosineAccumulator {
  private cosSum = 0;
  private angSum = 0;
  rows = 0;
  readonly cosines: number[] | undefined;
  constructor(readonly dModel: number, opts: { keepRows?: boolean } = {}, private readonly fn = "CosineAccumulator") {
    this.cosines = opts.keepRows ? [] : undefined;
  }
  add(x: Float32Array, y: Float32Array): void {
    const d = this.dModel;
    const r = checkChunk(this.fn, "x", x.length, "d_model", d);
    checkChunk(this.fn, "y", y.length, "d_model", d, r);
    checkFinite(this.fn, "x", x, d, this.rows);
    checkFinite(this.fn, "y", y, d, this.rows);
    for (let t = 0; t < r; t++) {
      let xy = 0, xx = 0, yy = 0;
      for (let c = 0; c < d; c++) {
        const a = x[t * d + c], b = y[t * d + c];
        xy += a * b;
        xx += a * a;
        yy += b * b;
      }
      const cos = Math.max(-1, Math.min(1, xy / (Math.max(Math.sqrt(xx), COSINE_EPS) * Math.max(Math.sqrt(yy), COSINE_EPS))));
      this.cosSum += cos;
      this.angSum += Math.acos(cos) / Math.PI;
      this.cosines?.push(cos);
    }
    this.rows += r;
  }
  get meanCosine(): number {
    return this.cosSum / this.rows;
  }
  get meanAngularDistance(): number {
    return this.angSum / this.rows;
  }
}

/** Mean L2 norm of the rows of x [tokens, d_model] (the original's mean norm per state). */
export function meanNorm(x: tf.Tensor2D): number {
  const [, d] = checkShape("meanNorm", "x", x.shape, ["tokens", "d_model"]);
  const acc = new MeanNormAccumulator(d, "meanNorm");
  acc.add(float32Data(x));
  return acc.mean;
}

function cosines(fn: string, x: tf.Tensor2D, y: tf.Tensor2D, keepRows: boolean): CosineAccumulator {
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  checkShape(fn, "y", y.shape, [["tokens", n], ["d_model", d]]);
  const acc = new CosineAccumulator(d, { keepRows }, fn);
  acc.add(float32Data(x), float32Data(y));
  return acc;
}

/** Mean cosine similarity of matching rows of x and y, both [tokens, d_model]. */
export function meanCosine(x: tf.Tensor2D, y: tf.Tensor2D): number {
  return cosines("meanCosine", x, y, false).meanCosine;
}

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
  const acc = cosines(fn, x, y, opts.sampleLengths !== undefined);
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
