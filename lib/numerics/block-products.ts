/**
 * The float32 route of {@link GramAccumulator}: tfjs float32 matmuls on one block of shifted,
 * column-scaled rows, summed into float64. Taken only without the native BLAS (lib/native), or
 * when a state's route is forced to "float32".
 */
import type * as TF from "@tensorflow/tfjs-core";

/**
 * tfjs-core, loaded on first use: a process whose products all run on the native BLAS (e.g.
 * `linearity score`) never loads it (~0.1-0.2 s of start-up).
 */
const tfjs = (): typeof TF => require("@tensorflow/tfjs-core");

/** What to multiply. */
export interface ProductPlan {
  /** d_model of each state (given states, then derived differences). */
  dims: number[];
  /** [i, partners]: accumulate X_i^T X_j for each partner j. */
  left: [number, number[]][];
}

/** Key of the product (i, j) in the sums map. */
export const productKey = (i: number, j: number): string => `${i},${j}`;

/** Float64 sums of block products, one [d_i, d_j] row-major buffer per product of the plan. */
export class BlockProducts {
  /** `sums`: buffers to add into (e.g. the accumulator's own); missing products get new zero buffers. */
  constructor(
    readonly plan: ProductPlan,
    readonly sums = new Map<string, Float64Array>(),
  ) {
    for (const [i, partners] of plan.left) {
      for (const j of partners) {
        const k = productKey(i, j);
        if (!sums.has(k)) sums.set(k, new Float64Array(plan.dims[i] * plan.dims[j]));
      }
    }
  }

  /** Add the products of one block: `scaled[i]` is [r, d_i] float32; null for states no product uses. */
  add(scaled: readonly (Float32Array | null)[], r: number): void {
    const { dims, left } = this.plan;
    const tf = tfjs();
    const t = scaled.map((x, i) => (x ? tf.tensor2d(x, [r, dims[i]]) : null));
    try {
      for (const [i, partners] of left) {
        if (!t[i]) continue;
        const ti = tf.transpose(t[i]!) as TF.Tensor2D; // [d_i, r]: explicit, transposeA is ~20x slower on wasm
        for (const j of partners) {
          const p = tf.matMul(ti, t[j]!);
          const v = p.dataSync() as Float32Array;
          p.dispose();
          const acc = this.sums.get(productKey(i, j))!;
          for (let k = 0; k < v.length; k++) acc[k] += v[k];
        }
        ti.dispose();
      }
    } finally {
      for (const x of t) x?.dispose();
    }
  }

}
