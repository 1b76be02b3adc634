/**
 * Cosine similarity of matching rows of two states (the original notebook's mean cosine of
 * consecutive layers), with the per-row angles the angular distance needs. Sums in float64.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkChunk, checkFinite, checkShape } from "../numerics/check";
import { float32Data } from "../numerics/data";

/** Norms below this count as this (torch.nn.functional.cosine_similarity's eps = 1e-8). */
export const COSINE_EPS = 1e-8;

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

/** A cosine accumulator fed with all rows of x and y [tokens, d_model], after shape checks naming `fn`. */
export function wholeTensorCosines(fn: string, x: tf.Tensor2D, y: tf.Tensor2D, keepRows: boolean): CosineAccumulator {
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  checkShape(fn, "y", y.shape, [["tokens", n], ["d_model", d]]);
  const acc = new CosineAccumulator(d, { keepRows }, fn);
  acc.add(float32Data(x), float32Data(y));
  return acc;
}

/** Mean cosine similarity of matching rows of x and y, both [tokens, d_model]. */
export function meanCosine(x: tf.Tensor2D, y: tf.Tensor2D): number {
  return wholeTensorCosines("meanCosine", x, y, false).meanCosine;
}
