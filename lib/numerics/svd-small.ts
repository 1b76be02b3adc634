/**
 * The SVD of a small square float64 matrix (the d x d R of a QR, qr-fit.ts): LAPACK dgesvd where
 * the native library loaded and passed its QR self-test, else a one-sided Jacobi SVD in
 * JavaScript (Hestenes: rotate pairs of columns until all are orthogonal; the column norms are
 * the singular values). Both work on R itself, never on R^T R, which would square its condition
 * number again (the very loss the QR route exists to avoid): singular values come out with
 * absolute error ~1e-16 of the largest.
 */
import { nativeBlas } from "../native/blas";

/** A = U diag(s) V^T, s descending; U and V [n, n] COLUMN-major (column k: the k-th singular vectors). */
export interface SmallSvd {
  s: Float64Array;
  U: Float64Array;
  V: Float64Array;
}

/** Sweeps of the Jacobi SVD before it gives up (it converges quadratically; ~6-12 are typical). */
const MAX_SWEEPS = 60;

/** The SVD of the COLUMN-major A [n, n] (not modified); `native` false forces the Jacobi SVD. */
export function svdSquare(A: Float64Array, n: number, native = true): SmallSvd {
  const svd = native ? nativeBlas()?.lapack.svdSquare : undefined;
  if (svd) {
    const work = Float64Array.from(A.subarray(0, n * n)), s = new Float64Array(n), U = new Float64Array(n * n), Vt = new Float64Array(n * n);
    const info = svd(n, work, s, U, Vt);
    if (info === 0) {
      const V = new Float64Array(n * n);
      for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) V[k * n + j] = Vt[j * n + k];
      return { s, U, V };
    }
    // dgesvd did not converge (info > 0): the Jacobi SVD below.
  }
  return jacobiSvd(A, n);
}

/** One-sided Jacobi SVD of the column-major A [n, n]. */
export function jacobiSvd(A: Float64Array, n: number): SmallSvd {
  const W = Float64Array.from(A.subarray(0, n * n)); // columns rotated until orthogonal: W = U diag(s)
  const V = new Float64Array(n * n);
  for (let k = 0; k < n; k++) V[k * n + k] = 1;
  const tol = Number.EPSILON * n;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let i = 0; i < n - 1; i++) {
      const io = i * n;
      for (let j = i + 1; j < n; j++) {
        const jo = j * n;
        let a = 0, b = 0, g = 0;
        for (let r = 0; r < n; r++) {
          const x = W[io + r], y = W[jo + r];
          a += x * x;
          b += y * y;
          g += x * y;
        }
        if (g === 0 || Math.abs(g) <= tol * Math.sqrt(a * b)) continue;
        rotated = true;
        const zeta = (b - a) / (2 * g);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let r = 0; r < n; r++) {
          const x = W[io + r], y = W[jo + r];
          W[io + r] = c * x - s * y;
          W[jo + r] = s * x + c * y;
          const v = V[io + r], w = V[jo + r];
          V[io + r] = c * v - s * w;
          V[jo + r] = s * v + c * w;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, k) => {
    let s = 0;
    for (let r = 0; r < n; r++) s += W[k * n + r] * W[k * n + r];
    return Math.sqrt(s);
  });
  const order = norms.map((_, k) => k).sort((x, y) => norms[y] - norms[x]);
  const s = new Float64Array(n), U = new Float64Array(n * n), Vs = new Float64Array(n * n);
  order.forEach((k, t) => {
    s[t] = norms[k];
    Vs.set(V.subarray(k * n, (k + 1) * n), t * n);
    // u_k = w_k / s_k; a zero column gives a zero u (its direction explains nothing).
    if (norms[k] > 0) for (let r = 0; r < n; r++) U[t * n + r] = W[k * n + r] / norms[k];
  });
  return { s, U, V: Vs };
}
