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
 * Solve L Z = B in place (L from {@link choleskyInPlace}, m x m; B [m, dy] row-major). The right-
 * hand sides are transposed to contiguous columns, and four rows of Z for four right-hand sides
 * are formed at a time from dot products with earlier rows (4x4 register tiles, as the Cholesky's
 * trailing update), so both operands stream contiguously.
 */
export function forwardSubstituteBlocked(L: Float64Array, m: number, B: Float64Array, dy: number): void {
  const Bt = new Float64Array(dy * m); // column c of B at Bt[c * m ...]
  for (let i = 0; i < m; i++) for (let c = 0; c < dy; c++) Bt[c * m + i] = B[i * dy + c];
  for (let i = 0; i < m; i += 4) {
    const ni = Math.min(4, m - i);
    const r0 = i * m, r1 = (i + Math.min(1, ni - 1)) * m, r2 = (i + Math.min(2, ni - 1)) * m, r3 = (i + Math.min(3, ni - 1)) * m;
    for (let c = 0; c < dy; c += 4) {
      const nc = Math.min(4, dy - c);
      const z0 = c * m, z1 = (c + Math.min(1, nc - 1)) * m, z2 = (c + Math.min(2, nc - 1)) * m, z3 = (c + Math.min(3, nc - 1)) * m;
      // Contributions of the rows solved before this group.
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let j = 0; j < i; j++) {
        const l0 = L[r0 + j], l1 = L[r1 + j], l2 = L[r2 + j], l3 = L[r3 + j];
        const b0 = Bt[z0 + j], b1 = Bt[z1 + j], b2 = Bt[z2 + j], b3 = Bt[z3 + j];
        s00 += l0 * b0; s01 += l0 * b1; s02 += l0 * b2; s03 += l0 * b3;
        s10 += l1 * b0; s11 += l1 * b1; s12 += l1 * b2; s13 += l1 * b3;
        s20 += l2 * b0; s21 += l2 * b1; s22 += l2 * b2; s23 += l2 * b3;
        s30 += l3 * b0; s31 += l3 * b1; s32 += l3 * b2; s33 += l3 * b3;
      }
      const acc = [s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33];
      // Within the group, row by row.
      for (let a = 0; a < ni; a++) {
        const row = (i + a) * m;
        for (let q = 0; q < nc; q++) {
          const col = (c + q) * m;
          let v = Bt[col + i + a] - acc[a * 4 + q];
          for (let b = 0; b < a; b++) v -= L[row + i + b] * Bt[col + i + b];
          Bt[col + i + a] = v / L[row + i + a];
        }
      }
    }
  }
  for (let i = 0; i < m; i++) for (let c = 0; c < dy; c++) B[i * dy + c] = Bt[c * m + i];
}
