/**
 * Independent float64 least-squares reference for the accuracy contract (docs/numerics.md,
 * "Accuracy"): no Gram matrices, no Cholesky, nothing from lib/. The data X is centred in float64,
 * its columns scaled to unit norm (the matrix the rcond cut is defined on), then factorized by
 * Householder QR (X_eq = Q R, on the data itself), and R by the one-sided Jacobi SVD of
 * reference.ts: X_eq = (Q U) diag(S) V^T. Singular values <= rcond * max are cut, and
 *   explained = ||U_k^T Q^T Y_c||^2,  map A = diag(1/||x_j||) V_k diag(1/S_k) U_k^T Q^T Y_c.
 * Row-major Float64Array inputs [n, d] (float32 data is passed exactly as float64).
 */
import { refSvd } from "./reference";

export interface Reference {
  /** Fraction of Y's centred variance explained: the linearity score. */
  score: number;
  /** Rank of the centred, column-equilibrated X under the cut. */
  rank: number;
  /** Singular values of the centred, column-equilibrated X over the largest, descending. */
  singularValues: number[];
  /** Map [d, dy] (row-major) with (Y - mean) ~ (X - mean) A. */
  map: Float64Array;
  /** Per token: 1 - ||x_i A - y_i||^2 / ||Y_c||^2 (centred). */
  token: Float64Array;
  /** Per token: 1 - ||x_i A - y_i||^2 / ||y_i||^2 (centred). */
  tokenRelative: Float64Array;
}

/** Column means in float64. */
function means(x: Float64Array, n: number, d: number): Float64Array {
  const m = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += x[i * d + j];
  for (let j = 0; j < d; j++) m[j] /= n;
  return m;
}

/** The float64 least-squares reference of Y on X with an rcond cut (see the file comment). */
export function lsqReference(x: Float64Array, y: Float64Array, n: number, d: number, dy: number, rcond: number): Reference {
  return lsqReferences(x, [y], n, d, dy, rcond, true)[0];
}

/**
 * {@link lsqReference} for several Y [n, dy] on one X (one QR and SVD); `full` false skips the map
 * and per-token values (score and rank only).
 */
export function lsqReferences(x: Float64Array, ys: Float64Array[], n: number, d: number, dy: number, rcond: number, full = false): Reference[] {
  const mx = means(x, n, d);
  // Centre, and equilibrate X's columns (column-major copy for the QR).
  const colScale = new Float64Array(d);
  const A = new Float64Array(d * n); // column-major [d][n]
  for (let j = 0; j < d; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i * d + j] - mx[j];
      A[j * n + i] = v;
      s += v * v;
    }
    colScale[j] = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < n; i++) A[j * n + i] *= colScale[j];
  }
  const my = ys.map((y) => means(y, n, dy));
  const Bs = ys.map((y, q) => {
    const B = new Float64Array(dy * n); // Y_c column-major
    for (let c = 0; c < dy; c++) for (let i = 0; i < n; i++) B[c * n + i] = y[i * dy + c] - my[q][c];
    return B;
  });
  // Householder QR of A; the same reflections applied to B give Q^T Y_c.
  const k = Math.min(n, d);
  const R: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const v = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    let norm = 0;
    for (let i = j; i < n; i++) norm += A[j * n + i] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = A[j * n + j] > 0 ? -norm : norm;
    for (let i = j; i < n; i++) v[i] = A[j * n + i];
    v[j] -= alpha;
    let vv = 0;
    for (let i = j; i < n; i++) vv += v[i] * v[i];
    if (vv === 0) continue;
    const reflect = (M: Float64Array, col: number) => {
      let dot = 0;
      for (let i = j; i < n; i++) dot += v[i] * M[col * n + i];
      const f = (2 * dot) / vv;
      for (let i = j; i < n; i++) M[col * n + i] -= f * v[i];
    };
    for (let c = j; c < d; c++) reflect(A, c);
    for (const B of Bs) for (let c = 0; c < dy; c++) reflect(B, c);
  }
  for (let a = 0; a < k; a++) for (let b = a; b < d; b++) R[a][b] = A[b * n + a];
  // SVD of R (d x d; rows beyond k are zero).
  const { U, S, V } = refSvd(R);
  const smax = Math.max(...S);
  const kept = S.map((s, t) => (s > rcond * smax && s > 0 ? t : -1)).filter((t) => t >= 0);
  const singularValues = S.map((s) => s / smax).sort((a, b) => b - a);
  return ys.map((y, q) => {
    const B = Bs[q];
    let yy = 0;
    for (let c = 0; c < dy; c++) for (let i = 0; i < n; i++) yy += (y[i * dy + c] - my[q][c]) ** 2;
    // Z = U_k^T (Q^T Y_c)[0..d), explained = ||Z||^2.
    let explained = 0;
    const Z: number[][] = kept.map((t) => {
      const row = new Array<number>(dy).fill(0);
      for (let a = 0; a < k; a++) {
        const u = U[a][t];
        for (let c = 0; c < dy; c++) row[c] += u * B[c * n + a];
      }
      for (let c = 0; c < dy; c++) explained += row[c] * row[c];
      return row;
    });
    const map = new Float64Array(d * dy);
    const token = new Float64Array(full ? n : 0), tokenRelative = new Float64Array(full ? n : 0);
    if (!full) return { score: explained / yy, rank: kept.length, singularValues, map, token, tokenRelative };
    kept.forEach((t, r) => {
      for (let a = 0; a < d; a++) {
        const w = (V[a][t] / S[t]) * colScale[a];
        for (let c = 0; c < dy; c++) map[a * dy + c] += w * Z[r][c];
      }
    });
    for (let i = 0; i < n; i++) {
      let res = 0, nrm = 0;
      for (let c = 0; c < dy; c++) {
        let f = 0;
        for (let a = 0; a < d; a++) f += (x[i * d + a] - mx[a]) * map[a * dy + c];
        const yc = y[i * dy + c] - my[q][c];
        res += (f - yc) ** 2;
        nrm += yc * yc;
      }
      token[i] = 1 - res / yy;
      tokenRelative[i] = nrm > 0 ? 1 - res / nrm : NaN;
    }
    return { score: explained / yy, rank: kept.length, singularValues, map, token, tokenRelative };
  });
}

/** Rows of Y - X as float64 (exact for float32 inputs). */
export function difference(y: Float64Array, x: Float64Array): Float64Array {
  return Float64Array.from(y, (v, k) => v - x[k]);
}
