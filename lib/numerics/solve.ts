/**
 * From float64 second moments to least-squares answers, with pinv semantics.
 *
 * Given C_xx [d_x, d_x] (Gram of the centred, or plain, X) and C_xy [d_x, d_y]:
 *   explained(C_xy)  = tr(C_yx C_xx^+ C_xy)   (= ||P_X Y||_F^2, P_X the projection on X's columns)
 *   map(C_xy)        = the least-squares map A with X A ~ Y
 *
 * rcond (numpy/torch pinv semantics, on a stated matrix): the singular values of the
 * COLUMN-EQUILIBRATED X (each column scaled to unit norm, after centring when the Gram is centred)
 * that are <= rcond x the largest are cut. Equilibration makes the cut, like the score, independent
 * of per-column units; a column without variance is no direction at all. The map is the
 * minimum-norm solution in equilibrated coordinates: A = S pinv_rcond(X S) Y, S = diag(1/||x_j||)
 * (the plain minimum-norm pinv(X) Y whenever nothing is cut).
 *
 * How: R = S C S (unit diagonal). A pivoted Cholesky of R with threshold (rcond/10)^2, plus
 * power/inverse-iteration estimates of R's extreme eigenvalues, proves in O(d^3/3) that no
 * singular value is near the cut (the common case): then triangular solves answer. Otherwise a
 * symmetric eigendecomposition of R (O(d^3) with a larger constant) applies the cut exactly:
 * sigma_i^2 = lambda_i(R).
 *
 * The dense kernels (Cholesky, triangular solves, eigensolver, products) run on the system's
 * LAPACK / BLAS where native/blas.c loads one, else in JavaScript (dense-ops.ts): same
 * decisions, same cut, results equal to rounding.
 */
import { DenseOps, denseOps } from "./dense-ops";
import { PivotedCholesky, pivotedCholesky, forwardSubstitute, backSubstitute } from "./linalg64";

/**
 * Default rcond: cut singular values of the equilibrated centred X below 1e-5 of the largest. Float32
 * rounding of the data puts spurious singular values near 1e-7..1e-8 of the largest (calibration
 * table in docs/numerics.md); real directions of hidden states sit far above 1e-5.
 */
export const DEFAULT_RCOND = 1e-5;

/** A factorized X Gram matrix, ready to answer projections and maps for many Y. */
export interface GramFactor {
  d: number;
  /** Per column 1/sqrt(C_jj); 0 for a column without variance (treated as absent). */
  scale: Float64Array;
  /** Numerical rank of X under the cut (after centring when the Gram was centred). */
  rank: number;
  /** Pivoted Cholesky of the equilibrated Gram ("cholesky" semantics). */
  chol?: PivotedCholesky;
  /** Unpivoted (blocked) Cholesky L [m, m] of the equilibrated Gram over the columns with variance `cols`, when nothing is cut. */
  blk?: { L: Float64Array; m: number; cols: Int32Array };
  /** Otherwise: kept eigenpairs of the equilibrated Gram over the columns with variance `cols`; `vectors` [rank, m], row t the eigenvector of values[t]. */
  eig?: { values: Float64Array; vectors: Float64Array; cols: Int32Array };
  /** Smallest kept over largest singular value of the equilibrated X (an estimate on the Cholesky path). */
  sigmaRatio: number;
  /** The kernels that factorized it, and answer its solves. */
  ops: DenseOps;
}

/** Options of {@link factorGram}. */
export interface FactorOptions {
  /** Relative cut-off on singular values of the equilibrated X, in [0, 1); default {@link DEFAULT_RCOND}. */
  rcond?: number;
  /** Diagonal before centring: a column whose centred variance is below 64 float64 ulps of it counts as constant. */
  rawDiag?: Float64Array;
  /** "svd" (default): the cut above. "cholesky": pivoted Cholesky threshold rcond^2 only (estimates, no eigendecomposition). */
  semantics?: "svd" | "cholesky";
  /** Use the system's LAPACK / BLAS where loaded (default true); false forces the JavaScript kernels. */
  native?: boolean;
}

/** Factorize C_xx [d, d] (see the file comment). */
export function factorGram(C: Float64Array, d: number, opts: FactorOptions = {}): GramFactor {
  const rcond = opts.rcond ?? DEFAULT_RCOND;
  if (!(rcond >= 0 && rcond < 1)) throw new Error(`rcond must be in [0, 1), got ${rcond}`);
  const ops = denseOps(opts.native ?? true);
  const { scale, cols } = columnScales(C, d, opts.rawDiag);
  const floor64 = 8 * Number.EPSILON * Math.max(1, cols.length);
  if (opts.semantics === "cholesky") {
    // Equilibrate: R = S C S with S = diag(scale); columns without variance become zero rows.
    const chol = pivotedCholesky(equilibrated(C, d, scale), d, Math.max(rcond * rcond, floor64));
    return { d, scale, rank: chol.rank, chol, sigmaRatio: NaN, ops };
  }
  return fastFactor(C, d, scale, cols, rcond, Math.max((rcond / 10) ** 2, floor64), ops) ?? eigenFactor(C, d, scale, cols, rcond, ops);
}

/**
 * The fast path: an unpivoted Cholesky of the equilibrated Gram (any pivot <= (rcond/10)^2 would
 * prove a singular value within rcond/10 of the largest, lambda_max >= 1), then the eigenvalue
 * estimates prove that nothing is near the cut; undefined otherwise (its factor is then garbage).
 */
function fastFactor(C: Float64Array, d: number, scale: Float64Array, cols: Int32Array, rcond: number, tol: number, ops: DenseOps): GramFactor | undefined {
  const blk = blockedFactor(C, d, scale, cols, tol, ops);
  if (!blk) return undefined;
  const { lmax, lmin } = extremeEigenvaluesOf(blockedOps(blk, ops), 30);
  // lmin is over-, lmax under-estimated by the iterations: keep a factor 100 (10 in sigma) of margin.
  if (!(lmin > 100 * rcond * rcond * lmax)) return undefined;
  return { d, scale, rank: cols.length, blk, sigmaRatio: Math.sqrt(lmin / lmax), ops };
}

/** Per column 1/sqrt(C_jj), 0 for a column without variance (below 64 ulps of `rawDiag`), and the columns with variance. */
function columnScales(C: Float64Array, d: number, rawDiag: Float64Array | undefined): { scale: Float64Array; cols: Int32Array } {
  const scale = new Float64Array(d);
  const cols: number[] = [];
  for (let j = 0; j < d; j++) {
    const v = C[j * d + j];
    const floor = rawDiag ? 64 * Number.EPSILON * rawDiag[j] : 0;
    scale[j] = v > floor && v > 0 ? 1 / Math.sqrt(v) : 0;
    if (scale[j] > 0) cols.push(j);
  }
  return { scale, cols: Int32Array.from(cols) };
}

/** R = S C S [d, d] (unit diagonal over the columns with variance, zero rows for the others). */
function equilibrated(C: Float64Array, d: number, scale: Float64Array): Float64Array {
  const R = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    const sa = scale[a];
    if (sa === 0) continue;
    for (let b = 0; b < d; b++) R[a * d + b] = sa * C[a * d + b] * scale[b];
  }
  return R;
}

/**
 * R over the columns with variance only, [m, m]: its lower triangle, or with `full` the whole
 * matrix symmetrized ((C_ab + C_ba) / 2, sums of float products need not be exactly symmetric).
 */
function equilibratedSub(C: Float64Array, d: number, scale: Float64Array, cols: Int32Array, full: boolean): Float64Array {
  const m = cols.length, R = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    const ca = cols[a], sa = scale[ca], end = full ? m : a + 1;
    for (let b = 0; b < end; b++) {
      const cb = cols[b];
      R[a * m + b] = sa * (full ? 0.5 * (C[ca * d + cb] + C[cb * d + ca]) : C[ca * d + cb]) * scale[cb];
    }
  }
  return R;
}

/** The Cholesky of R over the columns with variance, or undefined. */
function blockedFactor(C: Float64Array, d: number, scale: Float64Array, cols: Int32Array, tol: number, ops: DenseOps): { L: Float64Array; m: number; cols: Int32Array } | undefined {
  const m = cols.length;
  if (m === 0) return undefined;
  const A = equilibratedSub(C, d, scale, cols, false);
  return ops.cholesky(A, m, tol) ? { L: A, m, cols } : undefined;
}

/** Matrix-free operations on a lower factor: v := L v, L^T v and solves, for the eigenvalue estimates. */
interface FactorOps {
  rank: number;
  mulL(v: Float64Array): void;
  mulLT(v: Float64Array): void;
  solveL(v: Float64Array): void;
  solveLT(v: Float64Array): void;
}

function blockedOps(blk: { L: Float64Array; m: number }, ops: DenseOps): FactorOps {
  const { L, m } = blk;
  return {
    rank: m,
    mulL: (v) => ops.mulLowerVec(L, m, v, false),
    mulLT: (v) => ops.mulLowerVec(L, m, v, true),
    solveL: (v) => ops.solveLower(L, m, v, 1, false),
    solveLT: (v) => ops.solveLower(L, m, v, 1, true),
  };
}

/** Rows `cols` of S C_xy, [m, d_y] (the blocked path). */
function blockRows(f: GramFactor, Cxy: Float64Array, dy: number): Float64Array {
  return scaledRows(f, f.blk!.cols, Cxy, dy);
}

/** The exact cut: eigendecomposition of the equilibrated Gram over the columns with variance. */
function eigenFactor(C: Float64Array, d: number, scale: Float64Array, cols: Int32Array, rcond: number, ops: DenseOps): GramFactor {
  const m = cols.length;
  if (m === 0) return { d, scale, rank: 0, eig: { values: new Float64Array(0), vectors: new Float64Array(0), cols }, sigmaRatio: NaN, ops };
  const { values: lambda, vectors: V } = ops.eigh(() => equilibratedSub(C, d, scale, cols, true), m);
  let lmax = -Infinity;
  for (let k = 0; k < m; k++) lmax = Math.max(lmax, lambda[k]);
  const keep: number[] = [];
  for (let k = 0; k < m; k++) if (lambda[k] > rcond * rcond * lmax && lambda[k] > 0) keep.push(k);
  const rank = keep.length;
  const values = Float64Array.from(keep, (k) => lambda[k]);
  // [rank, m]: row t the t-th kept eigenvector; a view when the kept ones are consecutive (sorted solvers).
  let vectors: Float64Array;
  if (rank > 0 && keep[rank - 1] - keep[0] === rank - 1) vectors = V.subarray(keep[0] * m, (keep[0] + rank) * m);
  else {
    vectors = new Float64Array(rank * m);
    keep.forEach((k, t) => vectors.set(V.subarray(k * m, (k + 1) * m), t * m));
  }
  let lo = Infinity;
  for (const v of values) lo = Math.min(lo, v);
  const sigmaRatio = rank > 0 ? Math.sqrt(lo / lmax) : NaN;
  return { d, scale, rank, eig: { values, vectors, cols }, sigmaRatio, ops };
}

/** Kept rows of S C_xy in pivot order, [rank, d_y]. */
function pivotRows(f: GramFactor, Cxy: Float64Array, dy: number): Float64Array {
  const { rank, pivots } = f.chol!;
  const B = new Float64Array(rank * dy);
  for (let a = 0; a < rank; a++) {
    const p = pivots[a];
    const s = f.scale[p];
    const src = p * dy;
    for (let c = 0; c < dy; c++) B[a * dy + c] = s * Cxy[src + c];
  }
  return B;
}

/** Rows `cols` of S C_xy, [cols.length, d_y]. */
function scaledRows(f: GramFactor, cols: Int32Array, Cxy: Float64Array, dy: number): Float64Array {
  const B = new Float64Array(cols.length * dy);
  for (let a = 0; a < cols.length; a++) {
    const p = cols[a], s = f.scale[p];
    for (let c = 0; c < dy; c++) B[a * dy + c] = s * Cxy[p * dy + c];
  }
  return B;
}

/** V_k^T S C_xy, [rank, d_y], on the eigen path. */
function eigenCoordinates(f: GramFactor, Cxy: Float64Array, dy: number): Float64Array {
  const { vectors, cols } = f.eig!;
  return f.ops.matmul(false, f.rank, dy, cols.length, vectors, scaledRows(f, cols, Cxy, dy));
}

/** tr(C_yx C_xx^+ C_xy): the part of Y's sum of squares that X explains. */
export function explainedSumSquares(f: GramFactor, Cxy: Float64Array, dy: number): number {
  let s = 0;
  if (f.blk) {
    const Z = blockRows(f, Cxy, dy);
    f.ops.solveLower(f.blk.L, f.blk.m, Z, dy, false);
    for (let k = 0; k < Z.length; k++) s += Z[k] * Z[k];
    return s;
  }
  if (f.chol && !f.eig) {
    const Z = pivotRows(f, Cxy, dy);
    forwardSubstitute(f.chol, Z, dy);
    for (let k = 0; k < Z.length; k++) s += Z[k] * Z[k];
    return s;
  }
  const Z = eigenCoordinates(f, Cxy, dy);
  const { values } = f.eig!;
  for (let t = 0; t < f.rank; t++) {
    let row = 0;
    for (let c = 0; c < dy; c++) row += Z[t * dy + c] * Z[t * dy + c];
    s += row / values[t];
  }
  return s;
}

/** The least-squares map [d_x, d_y] row-major: S pinv_rcond(X S) Y from the moments (see the file comment). */
export function solveMap(f: GramFactor, Cxy: Float64Array, dy: number): Float64Array {
  const { d, scale } = f;
  const A = new Float64Array(d * dy);
  if (f.blk) {
    const { L, m, cols } = f.blk;
    const W = blockRows(f, Cxy, dy);
    f.ops.solveLower(L, m, W, dy, false);
    f.ops.solveLower(L, m, W, dy, true);
    for (let a = 0; a < m; a++) {
      const p = cols[a];
      for (let c = 0; c < dy; c++) A[p * dy + c] = scale[p] * W[a * dy + c];
    }
    return A;
  }
  if (f.chol && !f.eig) {
    const { rank, pivots } = f.chol;
    const W = pivotRows(f, Cxy, dy);
    forwardSubstitute(f.chol, W, dy);
    backSubstitute(f.chol, W, dy);
    for (let a = 0; a < rank; a++) {
      const p = pivots[a];
      for (let c = 0; c < dy; c++) A[p * dy + c] = scale[p] * W[a * dy + c];
    }
    return A; // columns without variance keep 0: the minimum-norm choice
  }
  const Z = eigenCoordinates(f, Cxy, dy);
  const { values, vectors, cols } = f.eig!;
  const k = f.rank;
  for (let t = 0; t < k; t++) for (let c = 0; c < dy; c++) Z[t * dy + c] /= values[t];
  const W = f.ops.matmul(true, cols.length, dy, k, vectors, Z); // V_k Lambda^-1 V_k^T S C_xy, [m, d_y]
  for (let a = 0; a < cols.length; a++) {
    const p = cols[a], s = scale[p];
    for (let c = 0; c < dy; c++) A[p * dy + c] = s * W[a * dy + c];
  }
  return A;
}

/** Operations on the pivoted factor of `f` (pivot order). */
function pivotedOps(f: GramFactor): FactorOps {
  const { d } = f;
  const { rank, rows, pivots } = f.chol!;
  return {
    rank,
    mulL(v) {
      const u = new Float64Array(rank);
      for (let a = 0; a < rank; a++) {
        const row = pivots[a] * d;
        let s = 0;
        for (let b = 0; b <= a; b++) s += rows[row + b] * v[b];
        u[a] = s;
      }
      v.set(u);
    },
    mulLT(v) {
      const w = new Float64Array(rank);
      for (let a = 0; a < rank; a++) {
        const row = pivots[a] * d, va = v[a];
        for (let b = 0; b <= a; b++) w[b] += rows[row + b] * va;
      }
      v.set(w);
    },
    solveL: (v) => forwardSubstitute(f.chol!, v, 1),
    solveLT: (v) => backSubstitute(f.chol!, v, 1),
  };
}

/** Power iteration on L L^T (largest) and inverse iteration (smallest eigenvalue). */
function extremeEigenvaluesOf(ops: FactorOps, iterations: number): { lmax: number; lmin: number } {
  const { rank } = ops;
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
  let v = start();
  normalizeInPlace(v);
  let lmax = 0;
  for (let it = 0; it < iterations; it++) {
    ops.mulLT(v);
    ops.mulL(v); // v := L L^T v
    lmax = normalizeInPlace(v);
  }
  v = start();
  normalizeInPlace(v);
  let inv = 0;
  for (let it = 0; it < iterations; it++) {
    ops.solveL(v);
    ops.solveLT(v);
    inv = normalizeInPlace(v);
  }
  return { lmax, lmin: 1 / inv };
}

/**
 * Condition estimate of the correlation matrix of centred Gram C [d, d] (lambda_max / lambda_min,
 * the squared condition number of the equilibrated X) by the blocked Cholesky: Infinity when a
 * pivot falls below `tol` (a column numerically dependent on the others) or nothing has variance.
 */
export function correlationCondition(C: Float64Array, d: number, rawDiag: Float64Array | undefined, tol: number, iterations = 12, native = true): number {
  const ops = denseOps(native);
  const { scale, cols } = columnScales(C, d, rawDiag);
  const blk = blockedFactor(C, d, scale, cols, tol, ops);
  if (!blk) return Infinity;
  const { lmax, lmin } = extremeEigenvaluesOf(blockedOps(blk, ops), iterations);
  return lmax / lmin;
}

/**
 * Estimate of the 2-norm condition number of the equilibrated (correlation) matrix R that `f`
 * factorizes (lambda_max / lambda_min of R, the squared condition number of the equilibrated X).
 * Infinity when a column with variance was dropped or nothing is left. A lower bound, typically
 * within a factor ~2 after 12 iterations.
 */
export function conditionEstimate(f: GramFactor, iterations = 12): number {
  if (f.blk) return conditionOf(blockedOps(f.blk, f.ops), iterations);
  if (!f.chol || f.eig) return f.sigmaRatio > 0 ? 1 / (f.sigmaRatio * f.sigmaRatio) : Infinity;
  let m = 0;
  for (let j = 0; j < f.d; j++) if (f.scale[j] > 0) m++;
  if (f.rank < m || f.rank === 0) return Infinity;
  return conditionOf(pivotedOps(f), iterations);
}

function conditionOf(ops: FactorOps, iterations: number): number {
  const { lmax, lmin } = extremeEigenvaluesOf(ops, iterations);
  return lmax / lmin;
}
