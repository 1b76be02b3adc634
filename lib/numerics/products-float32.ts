/**
 * The float32 route of {@link ProductRoute}: tfjs float32 matmuls on one block of shifted rows,
 * each block's product added into float64. Taken only without the native BLAS (lib/native), for
 * states whose warm-up found them well-conditioned (warmup.ts), or when a state's route is forced
 * to "float32". Columns are scaled by powers of two first ({@link scaleBlock}: exact, so no digit
 * changes) so that no product overflows or underflows float32; the sums are then in scaled units,
 * undone in float64 on read ({@link addUnscaled}).
 */
import type * as TF from "@tensorflow/tfjs-core";
import type { ProductRoute } from "./products";

/**
 * tfjs-core, loaded on first use: a process whose products all run on the native BLAS (e.g.
 * `linearity score`) never loads it (~0.1-0.2 s of start-up).
 */
const tfjs = (): typeof TF => require("@tensorflow/tfjs-core");

/** Largest magnitude a scaled value may have (products of 1024-row blocks stay far below float32's 3.4e38 = 2^128). */
const F32_MAX_SCALED = 2 ** 40;
/** Smallest non-zero magnitude a scaled value may have (products stay normal floats). */
const F32_MIN_SCALED = 2 ** -60;

/** tfjs matmuls: A^T B with an explicit transpose (transposeA is ~20x slower on wasm), float32 sums per block. */
export const float32Products: ProductRoute<Float32Array> = {
  kind: "float32",
  upperOnly: false,
  add(A, da, B, db, rows, acc) {
    const tf = tfjs();
    const a = tf.tensor2d(A, [rows, da]);
    const b = B === A ? a : tf.tensor2d(B, [rows, db]);
    const at = tf.transpose(a) as TF.Tensor2D; // [d_a, rows]
    const p = tf.matMul(at, b);
    const v = p.dataSync() as Float32Array;
    for (let k = 0; k < v.length; k++) acc[k] += v[k];
    for (const t of new Set([a, b, at, p])) t.dispose();
  },
};

/**
 * Scaled float32 copy of a shifted block v [rows, d]: v[t, c] * scales[c]. Returns undefined when
 * some value would leave the range where float32 products neither overflow nor underflow (that
 * block then takes the float64 route).
 */
export function scaleBlock(v: Float64Array, rows: number, scales: Float32Array): Float32Array | undefined {
  const d = scales.length, out = new Float32Array(rows * d);
  let ok = true;
  for (let t = 0; t < rows; t++) {
    const o = t * d;
    for (let c = 0; c < d; c++) {
      const w = v[o + c] * scales[c];
      // Too large (float32 products could overflow) or so small that they could underflow.
      if (!(Math.abs(w) <= F32_MAX_SCALED) || (w !== 0 && Math.abs(w) < F32_MIN_SCALED)) ok = false;
      out[o + c] = w;
    }
  }
  return ok ? out : undefined;
}

/** out [d_i, d_j] += the scaled sum p32 brought back to data units (divided by the column scales si, sj). */
export function addUnscaled(out: Float64Array, p32: Float64Array, si: Float32Array, sj: Float32Array): void {
  const di = si.length, dj = sj.length;
  for (let p = 0; p < di; p++) {
    const ip = 1 / si[p];
    for (let q = 0; q < dj; q++) out[p * dj + q] += (p32[p * dj + q] * ip) / sj[q];
  }
}

/** Diagonal entry c of a scaled self-product sum in data units. */
export function unscaledDiagonal(p32: Float64Array, s: Float32Array, c: number): number {
  const d = s.length;
  return (p32[c * d + c] * (1 / s[c])) / s[c];
}
