/** Mean L2 norm of the rows of a state (the original notebook's mean norm per layer). */
import * as tf from "@tensorflow/tfjs-core";
import { checkChunk, checkFinite, checkShape } from "../numerics/check";
import { float32Data } from "../numerics/data";

/** Streaming mean of row L2 norms over [rows, d_model] chunks (sums in float64). */
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

/** Mean L2 norm of the rows of x [tokens, d_model]. */
export function meanNorm(x: tf.Tensor2D): number {
  const [, d] = checkShape("meanNorm", "x", x.shape, ["tokens", "d_model"]);
  const acc = new MeanNormAccumulator(d, "meanNorm");
  acc.add(float32Data(x));
  return acc.mean;
}
