/**
 * From float64 second moments to least-squares answers, with pinv semantics.
 *
 * Given C_xx [d_x, d_x] (Gram of the centred, or plain, X) and C_xy [d_x, d_y]:
 *   explained(C_xy)  = tr(C_yx C_xx^+ C_xy)   (= ||P_X Y||_F^2, P_X the projection on X's columns)
 *   map(C_xy)        = the least-squares map A with X A ~ Y
 *
 * The cut is stated on the COLUMN-EQUILIBRATED X (each column scaled to unit norm, after centring
 * when the Gram is centred): its singular values sigma_i, sigma_i^2 = lambda_i(R) with R = S C S
 * (unit diagonal). Equilibration makes the cut, like the score, independent of per-column units;
 * a column without variance is no direction at all. Two cuts (cut.ts):
 * - precision (the default): cut what the rounding of the stored values cannot resolve, estimated
 *   from the storage dtype, the column norms and offsets;
 * - rcond (an explicit override, numpy/torch pinv semantics): cut sigma_i <= rcond x sigma_max.
 * The map is the minimum-norm solution in equilibrated coordinates: A = S pinv_cut(X S) Y,
 * S = diag(1/||x_j||) (the plain minimum-norm pinv(X) Y whenever nothing is cut).
 *
 * How: an unpivoted Cholesky of R over the columns with variance, plus power/inverse-iteration
 * estimates of R's extreme eigenvalues, proves in O(d^3/3) that no eigenvalue is near the cut (the
 * common case): the factor is then a {@link CholeskyFactor} and triangular solves answer.
 * Otherwise a symmetric eigendecomposition of R (O(d^3), larger constant) applies the cut
 * exactly: an {@link EigenFactor}.
 *
 * The dense kernels (Cholesky, triangular solves, eigensolver, products) run on the system's
 * LAPACK / BLAS where native/blas.c loads one, else in JavaScript (dense-ops.ts): same
 * decisions, same cut, results equal to rounding.
 */
import { type CutRule, type StoragePrecision, cutRule } from "./cut";
import { DenseOps, denseOps } from "./dense-ops";

/** What a factor cut, for reports: the rank and the count beside every score. */
export interface CutReport {
  /** "precision" (the default, derived from the storage dtype) or "rcond" (an explicit override). */
  by: "precision" | "rcond";
  /** The threshold as a fraction of the largest singular value of the equilibrated X: sigma_i <= it x sigma_max is cut. */
  relative: number;
  /** Directions of X not kept: d_model - rank (columns without variance included). */
  count: number;
  /**
   * What the singular values came from: "gram" (the float64 Gram's eigenvalues) or "qr" (the
   * singular values of R from a float64 QR of the data, qr-fit.ts).
   */
  route: "gram" | "qr";
  /**
   * Of the directions cut, those the Gram's float64 floor decided rather than the storage
   * precision (their eigenvalue at or below the floor, their storage threshold below it): they may
   * be directions the stored values resolve, which a QR of the data would keep. 0 on the QR route,
   * with rcond, and when nothing sits at the floor.
   */
  gramFloorCut: number;
}

interface FactorBase {
  d: number;
  /** Per column 1/sqrt(C_jj); 0 for a column without variance (treated as absent). */
  scale: Float64Array;
  /** The columns with variance, ascending. */
  cols: Int32Array;
  /** Numerical rank of X under the cut (after centring when the Gram was centred). */
  rank: number;
  /** Smallest kept over largest singular value of the equilibrated X (an estimate on the Cholesky path). */
  sigmaRatio: number;
  /** The cut that decided the rank. */
  cut: CutReport;
  /** The kernels that factorized it, and answer its solves. */
  ops: DenseOps;
}

/** Nothing near the cut: L [m, m] (lower, row-major), the Cholesky of R over the m columns with variance. */
export interface CholeskyFactor extends FactorBase {
  kind: "cholesky";
  L: Float64Array;
  m: number;
}

/** The exact cut: the kept eigenpairs of R over the columns with variance; `vectors` [rank, m], row t the eigenvector of values[t]. */
export interface EigenFactor extends FactorBase {
  kind: "eigen";
  values: Float64Array;
  vectors: Float64Array;
}

/** A factorized X Gram matrix, ready to answer projections and maps for many Y. */
export type GramFactor = CholeskyFactor | EigenFactor;

/** Options of {@link factorGram}. */
export interface FactorOptions {
  /**
   * Explicit cut-off with numpy/torch pinv semantics on the equilibrated X, in [0, 1). Given, it
   * replaces the precision cut.
   */
  rcond?: number;
  /**
   * How the data was stored, for the default precision cut (cut.ts). Default: float32 values
   * whose squares sum to `rawDiag` (else the Gram's diagonal), rows unknown (taken as many).
   */
  precision?: StoragePrecision;
  /**
   * Diagonal of the Gram as summed (before centring, about the shift the products used): a column
   * whose centred variance is below 64 float64 ulps of it counts as constant, and it bounds the
   * float64 rounding of the Gram's entries.
   */
  rawDiag?: Float64Array;
  /** Use the system's LAPACK / BLAS where loaded (default true); false forces the JavaScript kernels. */
  native?: boolean;
}

/** Factorize C_xx [d, d] (see the file comment). */
export function factorGram(C: Float64Array, d: number, opts: FactorOptions = {}): GramFactor {
  if (opts.rcond !== undefined && !(opts.rcond >= 0 && opts.rcond < 1)) throw new Error(`rcond must be in [0, 1), got ${opts.rcond}`);
  const ops = denseOps(opts.native ?? true);
  const { scale, cols } = columnScales(C, d, opts.rawDiag);
  const rule = cutRule(C, d, scale, cols, opts);
  return fastFactor(C, d, scale, cols, rule, ops) ?? eigenFactor(C, d, scale, cols, rule, ops);
}

/** The report of a factor's cut, once lambda_max of R is known. */
function report(rule: CutRule, d: number, rank: number, lmax: number, gramFloorCut = 0): CutReport {
  return { by: rule.by, relative: Math.sqrt(rule.bound(lmax) / lmax), count: d - rank, route: "gram", gramFloorCut };
}

/**
 * The fast path: an unpivoted Cholesky of the equilibrated Gram (a pivot at or below the cut's
 * floor proves an eigenvalue there), then the eigenvalue estimates prove that nothing is within a
 * factor 100 of the cut; undefined otherwise (its factor is then garbage).
 */
function fastFactor(C: Float64Array, d: number, scale: Float64Array, cols: Int32Array, rule: CutRule, ops: DenseOps): CholeskyFactor | undefined {
  const m = cols.length;
  if (m === 0) return undefined;
  const L = equilibratedSub(C, d, scale, cols, false);
  if (!ops.cholesky(L, m, rule.pivotFloor)) return undefined;
  const { lmax, lmin } = extremeEigenvaluesOf(choleskyOps(L, m, ops), 30);
  // lmin is over-, lmax under-estimated by the iterations: keep a factor 100 (10 in sigma) of margin.
  if (!(lmin > 100 * rule.bound(lmax))) return undefined;
  return { kind: "cholesky", d, scale, cols, rank: m, L, m, sigmaRatio: Math.sqrt(lmin / lmax), cut: report(rule, d, m, lmax), ops };
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

/** Matrix-free operations on a lower factor: v := L v, L^T v and solves, for the eigenvalue estimates. */
interface FactorOps {
  rank: number;
  mulL(v: Float64Array): void;
  mulLT(v: Float64Array): void;
  solveL(v: Float64Array): void;
  solveLT(v: Float64Array): void;
}

function choleskyOps(L: Float64Array, m: number, ops: DenseOps): FactorOps {
  return {
    rank: m,
    mulL: (v) => ops.mulLowerVec(L, m, v, false),
    mulLT: (v) => ops.mulLowerVec(L, m, v, true),
    solveL: (v) => ops.solveLower(L, m, v, 1, false),
    solveLT: (v) => ops.solveLower(L, m, v, 1, true),
  };
}

/** The exact cut: eigendecomposition of the equilibrated Gram over the columns with variance. */
function eigenFactor(C: Float64Array, d: number, scale: Float64Array, cols: Int32Array, rule: CutRule, ops: DenseOps): EigenFactor {
  const m = cols.length;
  if (m === 0) {
    return { kind: "eigen", d, scale, cols, rank: 0, values: new Float64Array(0), vectors: new Float64Array(0), sigmaRatio: NaN, cut: { by: rule.by, relative: NaN, count: d, route: "gram", gramFloorCut: 0 }, ops };
  }
  const { values: lambda, vectors: V } = ops.eigh(() => equilibratedSub(C, d, scale, cols, true), m);
  let lmax = -Infinity;
  for (let k = 0; k < m; k++) lmax = Math.max(lmax, lambda[k]);
  const keep: number[] = [];
  let atFloor = 0;
  for (let k = 0; k < m; k++) {
    const v = V.subarray(k * m, (k + 1) * m);
    if (lambda[k] > 0 && lambda[k] > rule.threshold(lmax, v)) keep.push(k);
    else if (lambda[k] <= rule.floor && rule.noise(v) < rule.floor) atFloor++; // the floor, not the storage, cut it
  }
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
  return { kind: "eigen", d, scale, cols, rank, values, vectors, sigmaRatio, cut: report(rule, d, rank, lmax, atFloor), ops };
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
function eigenCoordinates(f: EigenFactor, Cxy: Float64Array, dy: number): Float64Array {
  const { vectors, cols } = f;
  return f.ops.matmul(false, f.rank, dy, cols.length, vectors, scaledRows(f, cols, Cxy, dy));
}

/** tr(C_yx C_xx^+ C_xy): the part of Y's sum of squares that X explains. */
export function explainedSumSquares(f: GramFactor, Cxy: Float64Array, dy: number): number {
  let s = 0;
  if (f.kind === "cholesky") {
    const Z = scaledRows(f, f.cols, Cxy, dy);
    f.ops.solveLower(f.L, f.m, Z, dy, false);
    for (let k = 0; k < Z.length; k++) s += Z[k] * Z[k];
    return s;
  }
  const Z = eigenCoordinates(f, Cxy, dy);
  for (let t = 0; t < f.rank; t++) {
    let row = 0;
    for (let c = 0; c < dy; c++) row += Z[t * dy + c] * Z[t * dy + c];
    s += row / f.values[t];
  }
  return s;
}

/** The least-squares map [d_x, d_y] row-major: S pinv_cut(X S) Y from the moments (see the file comment); columns without variance keep 0 (the minimum-norm choice). */
export function solveMap(f: GramFactor, Cxy: Float64Array, dy: number): Float64Array {
  const { d, scale, cols } = f;
  const A = new Float64Array(d * dy);
  let W: Float64Array;
  if (f.kind === "cholesky") {
    W = scaledRows(f, cols, Cxy, dy);
    f.ops.solveLower(f.L, f.m, W, dy, false);
    f.ops.solveLower(f.L, f.m, W, dy, true);
  } else {
    const Z = eigenCoordinates(f, Cxy, dy);
    for (let t = 0; t < f.rank; t++) for (let c = 0; c < dy; c++) Z[t * dy + c] /= f.values[t];
    W = f.ops.matmul(true, cols.length, dy, f.rank, f.vectors, Z); // V_k Lambda^-1 V_k^T S C_xy, [m, d_y]
  }
  for (let a = 0; a < cols.length; a++) {
    const p = cols[a], sp = scale[p];
    for (let c = 0; c < dy; c++) A[p * dy + c] = sp * W[a * dy + c];
  }
  return A;
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
  const m = cols.length;
  if (m === 0) return Infinity;
  const L = equilibratedSub(C, d, scale, cols, false);
  if (!ops.cholesky(L, m, tol)) return Infinity;
  return conditionOf(choleskyOps(L, m, ops), iterations);
}

/**
 * Estimate of the 2-norm condition number of the equilibrated (correlation) matrix R that `f`
 * factorizes (lambda_max / lambda_min of R, the squared condition number of the equilibrated X).
 * On the eigen path: of the kept part, Infinity when nothing is kept. On the Cholesky path a lower
 * bound, typically within a factor ~2 after 12 iterations.
 */
export function conditionEstimate(f: GramFactor, iterations = 12): number {
  if (f.kind === "cholesky") return conditionOf(choleskyOps(f.L, f.m, f.ops), iterations);
  return f.sigmaRatio > 0 ? 1 / (f.sigmaRatio * f.sigmaRatio) : Infinity;
}

function conditionOf(ops: FactorOps, iterations: number): number {
  const { lmax, lmin } = extremeEigenvaluesOf(ops, iterations);
  return lmax / lmin;
}
