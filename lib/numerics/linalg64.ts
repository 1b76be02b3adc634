/**
 * Float64 dense linear algebra on small square matrices (d x d, d = d_model), row-major
 * Float64Array. tfjs has no float64 and no factorizations; these run on the Gram matrices only,
 * never on the [tokens, d_model] data, so O(d^3) plain loops are cheap enough (768: ~0.1 s).
 */

/** Result of {@link pivotedCholesky}: R[piv, piv] ~= L L^T over the kept (independent) columns. */
export interface PivotedCholesky {
  /** Size of the matrix that was factorized. */
  d: number;
  /** Number of columns kept (numerical rank). */
  rank: number;
  /** Kept column indices in pivot order, [rank]. */
  pivots: Int32Array;
  /**
   * Rows of the factor, indexed by ORIGINAL column: row c holds L[c, 0..rank) in pivot order
   * ([d, d] storage, only the first `rank` entries of a row are used). For kept columns this is
   * the usual triangular factor; for dropped columns it holds L_DK with R_DK = L_DK L_KK^T,
   * which gives the null-space coefficients needed for minimum-norm solutions.
   */
  rows: Float64Array;
}

/**
 * Cholesky factorization with diagonal pivoting (rank-revealing) of a symmetric positive
 * semi-definite matrix R [d, d]. At each step the column with the largest remaining Schur
 * diagonal (its squared norm after projecting out the columns already kept) is taken; it stops
 * when that value is <= `tol`. With R a correlation matrix (unit diagonal), `tol = rcond^2` keeps
 * exactly the columns whose part unexplained by the earlier ones has relative norm > rcond.
 */
export function pivotedCholesky(R: Float64Array, d: number, tol: number): PivotedCholesky {
  const rows = new Float64Array(d * d);
  const schur = new Float64Array(d);
  const used = new Uint8Array(d);
  for (let c = 0; c < d; c++) schur[c] = R[c * d + c];
  const pivots: number[] = [];
  for (let k = 0; k < d; k++) {
    // Pick the remaining column with the largest unexplained part.
    let p = -1;
    let best = -Infinity;
    for (let c = 0; c < d; c++) {
      if (!used[c] && schur[c] > best) {
        best = schur[c];
        p = c;
      }
    }
    if (p < 0 || !(best > tol)) break;
    used[p] = 1;
    pivots.push(p);
    const lkk = Math.sqrt(best);
    const pOff = p * d;
    rows[pOff + k] = lkk;
    // Column k of L for every other remaining column: (R[c,p] - L[c,:k].L[p,:k]) / L[k,k].
    for (let c = 0; c < d; c++) {
      if (used[c]) continue;
      const cOff = c * d;
      let s = R[cOff + p];
      for (let m = 0; m < k; m++) s -= rows[cOff + m] * rows[pOff + m];
      const v = s / lkk;
      rows[cOff + k] = v;
      schur[c] -= v * v;
    }
  }
  return { d, rank: pivots.length, pivots: Int32Array.from(pivots), rows };
}

/**
 * Solve L Z = B in place for Z, with L the kept triangular factor of `f` ([rank, rank], pivot
 * order) and B [rank, m] row-major. Inner loops run along contiguous rows of B, four rows of L
 * at a time to cut memory traffic.
 */
export function forwardSubstitute(f: PivotedCholesky, B: Float64Array, m: number): void {
  const { rank, pivots, rows, d } = f;
  for (let i = 0; i < rank; i++) {
    const li = pivots[i] * d;
    const zi = i * m;
    let j = 0;
    for (; j + 3 < i; j += 4) {
      const a0 = rows[li + j], a1 = rows[li + j + 1], a2 = rows[li + j + 2], a3 = rows[li + j + 3];
      const z0 = j * m, z1 = z0 + m, z2 = z1 + m, z3 = z2 + m;
      for (let c = 0; c < m; c++) {
        B[zi + c] -= a0 * B[z0 + c] + a1 * B[z1 + c] + a2 * B[z2 + c] + a3 * B[z3 + c];
      }
    }
    for (; j < i; j++) {
      const a = rows[li + j];
      const zj = j * m;
      for (let c = 0; c < m; c++) B[zi + c] -= a * B[zj + c];
    }
    const inv = 1 / rows[li + i];
    for (let c = 0; c < m; c++) B[zi + c] *= inv;
  }
}

/** Solve L^T W = Z in place for W (Z [rank, m] row-major), after {@link forwardSubstitute}. */
export function backSubstitute(f: PivotedCholesky, Z: Float64Array, m: number): void {
  const { rank, pivots, rows, d } = f;
  for (let i = rank - 1; i >= 0; i--) {
    const li = pivots[i] * d;
    const zi = i * m;
    const inv = 1 / rows[li + i];
    for (let c = 0; c < m; c++) Z[zi + c] *= inv;
    // Remove row i's contribution from every earlier row j: Z[j] -= L[i, j] * W[i].
    for (let j = 0; j < i; j++) {
      const a = rows[li + j];
      if (a === 0) continue;
      const zj = j * m;
      for (let c = 0; c < m; c++) Z[zj + c] -= a * Z[zi + c];
    }
  }
}

/** Plain (unpivoted) Cholesky of a small SPD matrix [n, n]; returns lower L row-major. */
export function cholesky(M: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error("cholesky: matrix is not positive definite");
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  return L;
}

/** Solve (L L^T) X = B in place for X, with L from {@link cholesky}; B [n, m] row-major. */
export function choleskySolve(L: Float64Array, n: number, B: Float64Array, m: number): void {
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const a = L[i * n + k];
      for (let c = 0; c < m; c++) B[i * m + c] -= a * B[k * m + c];
    }
    const inv = 1 / L[i * n + i];
    for (let c = 0; c < m; c++) B[i * m + c] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const a = L[k * n + i];
      for (let c = 0; c < m; c++) B[i * m + c] -= a * B[k * m + c];
    }
    const inv = 1 / L[i * n + i];
    for (let c = 0; c < m; c++) B[i * m + c] *= inv;
  }
}
