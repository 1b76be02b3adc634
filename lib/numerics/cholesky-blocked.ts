/**
 * Blocked, unpivoted Cholesky and blocked forward substitution in float64, for the common case of
 * {@link factorGram}: a correlation matrix proved far from singular needs no pivoting, and at
 * d_model 2,048-4,096 the cache behaviour decides the time (the pivoted, column-by-column loops of
 * linalg64.ts read every remaining row per step). Same arithmetic, O(d^3/3), in panels of `nb`
 * columns whose trailing update runs in 4x4 register tiles.
 */

/**
 * Overwrite the lower triangle of the symmetric m x m matrix A (row-major) with its Cholesky
 * factor L (A = L L^T). Returns false, leaving A partly overwritten, when a pivot is <= tol.
 */
export function choleskyInPlace(A: Float64Array, m: number, tol: number, nb = 64): boolean {
  for (let k0 = 0; k0 < m; k0 += nb) {
    const k1 = Math.min(m, k0 + nb);
    // 1. The diagonal block (already updated by the earlier panels).
    for (let j = k0; j < k1; j++) {
      const jo = j * m;
      let s = A[jo + j];
      for (let p = k0; p < j; p++) s -= A[jo + p] * A[jo + p];
      if (!(s > tol)) return false;
      const ljj = Math.sqrt(s);
      A[jo + j] = ljj;
      for (let i = j + 1; i < k1; i++) {
        const io = i * m;
        let t = A[io + j];
        for (let p = k0; p < j; p++) t -= A[io + p] * A[jo + p];
        A[io + j] = t / ljj;
      }
    }
    // 2. The panel below it: L21 = A21 L11^-T, row by row.
    for (let i = k1; i < m; i++) {
      const io = i * m;
      for (let j = k0; j < k1; j++) {
        const jo = j * m;
        let t = A[io + j];
        for (let p = k0; p < j; p++) t -= A[io + p] * A[jo + p];
        A[io + j] = t / A[jo + j];
      }
    }
    // 3. Trailing update of the lower triangle: A22 -= L21 L21^T, 4x4 tiles over (i, j).
    for (let i = k1; i < m; i += 4) {
      const ni = Math.min(4, m - i);
      const i0 = i * m, i1 = (i + Math.min(1, ni - 1)) * m, i2 = (i + Math.min(2, ni - 1)) * m, i3 = (i + Math.min(3, ni - 1)) * m;
      for (let j = k1; j < i + ni; j += 4) {
        const nj = Math.min(4, m - j);
        const j0 = j * m, j1 = (j + Math.min(1, nj - 1)) * m, j2 = (j + Math.min(2, nj - 1)) * m, j3 = (j + Math.min(3, nj - 1)) * m;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let p = k0; p < k1; p++) {
          const a0 = A[i0 + p], a1 = A[i1 + p], a2 = A[i2 + p], a3 = A[i3 + p];
          const b0 = A[j0 + p], b1 = A[j1 + p], b2 = A[j2 + p], b3 = A[j3 + p];
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        const c = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (let a = 0; a < ni; a++) {
          for (let b = 0; b < nj && j + b <= i + a; b++) A[(i + a) * m + j + b] -= c[a * 4 + b];
        }
      }
    }
  }
  return true;
}

/**
 * Solve L Z = B in place (L from {@link choleskyInPlace}, m x m; B [m, dy] row-major): four rows
 * of Z at a time against four earlier rows at a time, over column chunks of B that stay in cache.
 */
export function forwardSubstituteBlocked(L: Float64Array, m: number, B: Float64Array, dy: number): void {
  const chunk = 256;
  for (let c0 = 0; c0 < dy; c0 += chunk) {
    const c1 = Math.min(dy, c0 + chunk);
    for (let i = 0; i < m; i += 4) {
      const ni = Math.min(4, m - i);
      // Contributions of the rows solved before this group, four at a time.
      let j = 0;
      for (; j + 3 < i; j += 4) {
        for (let a = 0; a < ni; a++) {
          const lo = (i + a) * m + j;
          const l0 = L[lo], l1 = L[lo + 1], l2 = L[lo + 2], l3 = L[lo + 3];
          const zo = (i + a) * dy, b0 = j * dy, b1 = b0 + dy, b2 = b1 + dy, b3 = b2 + dy;
          for (let c = c0; c < c1; c++) B[zo + c] -= l0 * B[b0 + c] + l1 * B[b1 + c] + l2 * B[b2 + c] + l3 * B[b3 + c];
        }
      }
      for (; j < i; j++) {
        for (let a = 0; a < ni; a++) {
          const l = L[(i + a) * m + j];
          const zo = (i + a) * dy, bo = j * dy;
          for (let c = c0; c < c1; c++) B[zo + c] -= l * B[bo + c];
        }
      }
      // Within the group.
      for (let a = 0; a < ni; a++) {
        const r = i + a, ro = r * m, zo = r * dy;
        for (let b = 0; b < a; b++) {
          const l = L[ro + i + b], bo = (i + b) * dy;
          for (let c = c0; c < c1; c++) B[zo + c] -= l * B[bo + c];
        }
        const inv = 1 / L[ro + r];
        for (let c = c0; c < c1; c++) B[zo + c] *= inv;
      }
    }
  }
}
