/**
 * The fit of a least-squares map on centred rows, (x - mean) B, [tokens, d_y]: what per-token
 * linearity (lib/metrics/token-linearity.ts) needs. float64 on the native BLAS (dgemm on blocks of
 * 1,024 centred rows) or in JavaScript loops; or float32 tfjs matmuls for the fast route, where
 * B is small (well-conditioned X) so the rounding stays ~1e-7 of the fit.
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeBlas } from "../native/blas";

/** (x - mean) B in float64, [n, dy]: dgemm on blocks of 1,024 centred rows with `native`, else loops. */
export function fitFloat64(xv: Float32Array, mx: Float64Array, B: Float64Array, n: number, d: number, dy: number, native: boolean): Float64Array {
  const out = new Float64Array(n * dy);
  const blas = native ? nativeBlas() : undefined;
  if (blas) {
    const rows = 1024, xc = new Float64Array(rows * d);
    for (let r0 = 0; r0 < n; r0 += rows) {
      const r = Math.min(n, r0 + rows) - r0;
      for (let t = 0; t < r; t++) for (let c = 0; c < d; c++) xc[t * d + c] = xv[(r0 + t) * d + c] - mx[c];
      blas.gemm(false, false, r, dy, d, 1, xc, d, B, dy, 0, out.subarray(r0 * dy, (r0 + r) * dy), dy);
    }
    return out;
  }
  const xc = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < d; c++) xc[c] = xv[t * d + c] - mx[c];
    const o = t * dy;
    for (let k = 0; k < d; k++) {
      const v = xc[k];
      if (v === 0) continue;
      const bo = k * dy;
      for (let c = 0; c < dy; c++) out[o + c] += v * B[bo + c];
    }
  }
  return out;
}

/** (x - mean) B with float32 tfjs matmuls over blocks of rows (centring in float64 first), [n, dy]. */
export function fitFloat32(xv: Float32Array, mx: Float64Array, B64: Float64Array, n: number, d: number, dy: number, block: number): Float64Array {
  const out = new Float64Array(n * dy);
  const B = tf.tensor2d(Float32Array.from(B64), [d, dy]);
  try {
    for (let r0 = 0; r0 < n; r0 += block) {
      const r = Math.min(n, r0 + block) - r0;
      const xc = new Float32Array(r * d);
      for (let t = 0; t < r; t++) for (let c = 0; c < d; c++) xc[t * d + c] = xv[(r0 + t) * d + c] - mx[c];
      const f = tf.tidy(() => tf.matMul(tf.tensor2d(xc, [r, d]), B));
      out.set(f.dataSync(), r0 * dy);
      f.dispose();
    }
  } finally {
    B.dispose();
  }
  return out;
}
