/**
 * The O(rows * d_model^2) part of {@link GramAccumulator}: float32 tfjs matmuls on one block of
 * shifted rows, summed into float64. The same code runs in the main thread and in each worker
 * thread (lib/numerics/gram-worker.ts), so the in-thread and worker paths compute identical
 * float32 block products; only the order in which the float64 partial sums are added differs.
 */
import * as tf from "@tensorflow/tfjs-core";

/** What to multiply: plain data, so it can be sent to a worker (structured clone). */
export interface ProductPlan {
  /** d_model of each state. */
  dims: number[];
  /** [i, partners]: accumulate X_i'^T X_j for each partner j (X_i' whitened when T_i is set, X_j raw unless j = i). */
  left: [number, number[]][];
  /** Per state: whitening transform T_i [d_i, d_i] float32 (x' = (x - s) T), or null. */
  transforms: (Float32Array | null)[];
}

/** Key of the product (i, j) in the sums map. */
export const productKey = (i: number, j: number): string => `${i},${j}`;

/** Float64 sums of block products, one [d_i, d_j] row-major buffer per product of the plan. */
export class BlockProducts {
  private T: (tf.Tensor2D | null)[] | undefined;

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

  /** Add the products of one block: `shifted[i]` is [r, d_i] float32 (already shifted); null for states no product uses. */
  add(shifted: readonly (Float32Array | null)[], r: number): void {
    const { dims, left, transforms } = this.plan;
    // Upload the transforms once for many blocks (until dispose()).
    this.T ??= transforms.map((t, i) => (t ? tf.tensor2d(t, [dims[i], dims[i]]) : null));
    const raw = shifted.map((x, i) => (x ? tf.tensor2d(x, [r, dims[i]]) : null));
    const white = raw.map((t, i) => (t && this.T![i] ? (tf.matMul(t, this.T![i]!) as tf.Tensor2D) : t));
    for (const [i, partners] of left) {
      const ti = tf.transpose(white[i]!) as tf.Tensor2D; // [d_i, r]: explicit, transposeA is ~20x slower on wasm
      for (const j of partners) {
        const p = tf.matMul(ti, j === i ? white[i]! : raw[j]!);
        const v = p.dataSync() as Float32Array;
        p.dispose();
        const acc = this.sums.get(productKey(i, j))!;
        for (let k = 0; k < v.length; k++) acc[k] += v[k];
      }
      ti.dispose();
    }
    for (let i = 0; i < raw.length; i++) {
      if (white[i] && white[i] !== raw[i]) white[i]!.dispose();
      raw[i]?.dispose();
    }
  }

  /** Free the uploaded transforms (they are uploaded again by the next add). */
  dispose(): void {
    for (const t of this.T ?? []) t?.dispose();
    this.T = undefined;
  }
}
