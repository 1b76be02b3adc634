/**
 * From float64 second moments to least-squares answers, with pinv semantics.
 *
 * Given C_xx [d_x, d_x] (Gram of the centred, or plain, X) and C_xy [d_x, d_y]:
 *   explained(C_xy)  = tr(C_yx C_xx^+ C_xy)   (= ||P_X Y||_F^2, P_X the projection on X's columns)
 *   map(C_xy)        = C_xx^+ C_xy            (= pinv(X) Y, the minimum-norm least-squares A)
 *
 * Why this is stable enough: columns are first equilibrated (C_xx scaled to a correlation matrix),
 * which makes the answer and the rank decision independent of per-column scale (a column 1000x
 * larger than the rest is no harder than any other; van der Sluis: diagonal scaling is near
 * optimal for Cholesky). Rank deficiency is decided by a pivoted Cholesky with threshold rcond^2
 * on the unit diagonal, i.e. a column is dropped when the part of it that the kept columns do not
 * explain has norm below rcond times its own norm.
 */
import { PivotedCholesky, pivotedCholesky, forwardSubstitute, backSubstitute, cholesky, choleskySolve } from "./linalg64";

/** Default relative cut-off (see {@link GramFactor}); float32 Gram noise sits near 1e-7 on the unit diagonal. */
export const DEFAULT_RCOND = 1e-3;

/** A factorized X Gram matrix, ready to answer projections and maps for many Y. */
export interface GramFactor {
  d: number;
  /** Per column 1/sqrt(C_jj); 0 for a column without variance (treated as absent). */
  scale: Float64Array;
  chol: PivotedCholesky;
  /** Numerical rank of X (after centring when the Gram was centred). */
  rank: number;
}

/**
 * Factorize C_xx [d, d]. `rawDiag` (optional, [d]) is the diagonal before centring: a column whose
 * centred variance is below 64 float64 ulps of it is cancellation noise and counts as constant.
 */
export function factorGram(C: Float64Array, d: number, rcond: number, rawDiag?: Float64Array): GramFactor {
  if (!(rcond >= 0 && rcond < 1)) throw new Error(`rcond must be in [0, 1), got ${rcond}`);
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const v = C[j * d + j];
    const floor = rawDiag ? 64 * Number.EPSILON * rawDiag[j] : 0;
    scale[j] = v > floor && v > 0 ? 1 / Math.sqrt(v) : 0;
  }
  // Equilibrate: R = S C S with S = diag(scale); columns without variance become zero rows.
  const R = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    const sa = scale[a];
    if (sa === 0) continue;
    for (let b = 0; b < d; b++) R[a * d + b] = sa * C[a * d + b] * scale[b];
  }
  // A tolerance of exactly 0 would keep pure rounding noise; use the float64 floor at least.
  const tol = Math.max(rcond * rcond, 4 * Number.EPSILON * d);
  const chol = pivotedCholesky(R, d, tol);
  return { d, scale, chol, rank: chol.rank };
}

/** Kept rows of S C_xy in pivot order, [rank, d_y]. */
function pivotRows(f: GramFactor, Cxy: Float64Array, dy: number): Float64Array {
  const { rank, pivots } = f.chol;
  const B = new Float64Array(rank * dy);
  for (let a = 0; a < rank; a++) {
    const p = pivots[a];
    const s = f.scale[p];
    const src = p * dy;
    for (let c = 0; c < dy; c++) B[a * dy + c] = s * Cxy[src + c];
  }
  return B;
}

/** tr(C_yx C_xx^+ C_xy): the part of Y's sum of squares that X explains. */
export function explainedSumSquares(f: GramFactor, Cxy: Float64Array, dy: number): number {
  const Z = pivotRows(f, Cxy, dy);
  forwardSubstitute(f.chol, Z, dy);
  let s = 0;
  for (let k = 0; k < Z.length; k++) s += Z[k] * Z[k];
  return s;
}

/**
 * The minimum-norm least-squares map C_xx^+ C_xy, [d_x, d_y] row-major (pinv(X) Y). The basic
 * solution on the kept columns is made minimum-norm by removing its component along the null
 * space of X (one vector per dropped column, read from the pivoted factor).
 */
export function solveMap(f: GramFactor, Cxy: Float64Array, dy: number): Float64Array {
  const { d, scale } = f;
  const { rank, pivots, rows } = f.chol;
  const W = pivotRows(f, Cxy, dy);
  forwardSubstitute(f.chol, W, dy);
  backSubstitute(f.chol, W, dy);
  const A = new Float64Array(d * dy);
  for (let a = 0; a < rank; a++) {
    const p = pivots[a];
    const s = scale[p];
    for (let c = 0; c < dy; c++) A[p * dy + c] = s * W[a * dy + c];
  }
  const kept = new Uint8Array(d);
  for (let a = 0; a < rank; a++) kept[pivots[a]] = 1;
  const dropped: number[] = [];
  for (let c = 0; c < d; c++) if (!kept[c]) dropped.push(c);
  if (dropped.length === 0) return A;

  // Null-space basis N [d, m] in original column coordinates.
  const m = dropped.length;
  const N = new Float64Array(d * m);
  for (let t = 0; t < m; t++) {
    const c = dropped[t];
    if (scale[c] === 0) {
      N[c * m + t] = 1; // a column without variance: X e_c is constant (zero after centring)
      continue;
    }
    // Equilibrated column c ~= sum_a b[a] * column p_a with b = L_KK^-T l_c.
    const b = new Float64Array(rank);
    for (let a = 0; a < rank; a++) b[a] = rows[c * d + a];
    backSubstitute(f.chol, b, 1);
    N[c * m + t] = scale[c];
    for (let a = 0; a < rank; a++) N[pivots[a] * m + t] = -b[a] * scale[pivots[a]];
  }
  // A <- A - N (N^T N)^-1 N^T A.
  const NtN = new Float64Array(m * m);
  const NtA = new Float64Array(m * dy);
  for (let r = 0; r < d; r++) {
    for (let t = 0; t < m; t++) {
      const v = N[r * m + t];
      if (v === 0) continue;
      for (let u = 0; u < m; u++) NtN[t * m + u] += v * N[r * m + u];
      for (let c = 0; c < dy; c++) NtA[t * dy + c] += v * A[r * dy + c];
    }
  }
  choleskySolve(cholesky(NtN, m), m, NtA, dy);
  for (let r = 0; r < d; r++) {
    for (let t = 0; t < m; t++) {
      const v = N[r * m + t];
      if (v === 0) continue;
      for (let c = 0; c < dy; c++) A[r * dy + c] -= v * NtA[t * dy + c];
    }
  }
  return A;
}

/**
 * An invertible transform T [d, d] (float32 values, row-major, x' = x T) that makes X's columns
 * roughly orthonormal, from an estimate C of X's centred Gram (e.g. on the first rows). Kept
 * columns (pivot order) are whitened, X_K S_K L^-T; columns the estimate finds dependent are
 * only rescaled, so T stays invertible and the exact rank is decided later on all the data.
 * Why: float32 products of whitened columns have errors that the final solve no longer
 * amplifies by cond(C) (the Gram route squares the condition number; this undoes it).
 */
export function whiteningTransform(C: Float64Array, d: number, rcond: number): Float32Array {
  return whiteningFromFactor(factorGram(C, d, rcond));
}

/** {@link whiteningTransform} from an existing factor of the estimate (no second factorization). */
export function whiteningFromFactor(f: GramFactor): Float32Array {
  const { d } = f;
  const { rank, pivots } = f.chol;
  const Linv = new Float64Array(rank * rank);
  for (let a = 0; a < rank; a++) Linv[a * rank + a] = 1;
  forwardSubstitute(f.chol, Linv, rank); // Linv = L^-1, [rank, rank] lower
  const T = new Float32Array(d * d);
  for (let a = 0; a < rank; a++) {
    for (let b = 0; b <= a; b++) T[pivots[b] * d + a] = f.scale[pivots[b]] * Linv[a * rank + b];
  }
  const kept = new Uint8Array(d);
  for (let a = 0; a < rank; a++) kept[pivots[a]] = 1;
  let out = rank;
  for (let c = 0; c < d; c++) {
    if (kept[c]) continue;
    T[c * d + out] = f.scale[c] > 0 ? f.scale[c] : 1;
    out++;
  }
  return T;
}

/**
 * Estimate of the 2-norm condition number of the equilibrated (correlation) matrix R ~= L L^T that
 * `f` factorizes: largest eigenvalue by power iteration on L L^T, smallest by inverse iteration
 * (two triangular solves per step), `iterations` steps each from a fixed start vector, so
 * O(iterations d^2) after the factorization. Infinity when the factor dropped a column (rank < d:
 * exactly or numerically dependent columns). Power iteration approaches both extremes from
 * inside, so this is a lower bound that is typically within a factor of ~2 after 12 steps.
 */
export function conditionEstimate(f: GramFactor, iterations = 12): number {
  const { d } = f;
  const { rank, rows } = f.chol;
  if (rank < d || rank === 0) return Infinity;
  // Products with L (rank x rank lower, row a of L in pivot order at rows[pivots[a] * d + ...]).
  const { pivots } = f.chol;
  const lower = (a: number, b: number) => rows[pivots[a] * d + b];
  const start = () => {
    const v = new Float64Array(rank);
    let s = 12345;
    for (let a = 0; a < rank; a++) {
      s = (s * 1103515245 + 12345) >>> 0;
      v[a] = 0.5 + s / 4294967296; // positive start: has a component along every eigenvector in practice
    }
    return v;
  };
  const normalizeInPlace = (v: Float64Array) => {
    let n2 = 0;
    for (let a = 0; a < v.length; a++) n2 += v[a] * v[a];
    const inv = 1 / Math.sqrt(n2);
    for (let a = 0; a < v.length; a++) v[a] *= inv;
    return Math.sqrt(n2);
  };
  // Largest eigenvalue: v <- L (L^T v).
  let v = start();
  normalizeInPlace(v);
  let lmax = 0;
  for (let it = 0; it < iterations; it++) {
    const w = new Float64Array(rank); // L^T v
    for (let a = 0; a < rank; a++) {
      const va = v[a];
      for (let b = 0; b <= a; b++) w[b] += lower(a, b) * va;
    }
    const u = new Float64Array(rank); // L w
    for (let a = 0; a < rank; a++) {
      let s = 0;
      for (let b = 0; b <= a; b++) s += lower(a, b) * w[b];
      u[a] = s;
    }
    lmax = normalizeInPlace(u);
    v = u;
  }
  // Smallest eigenvalue: v <- (L L^T)^-1 v.
  v = start();
  normalizeInPlace(v);
  let inv = 0;
  for (let it = 0; it < iterations; it++) {
    forwardSubstitute(f.chol, v, 1);
    backSubstitute(f.chol, v, 1);
    inv = normalizeInPlace(v);
  }
  return lmax * inv;
}
