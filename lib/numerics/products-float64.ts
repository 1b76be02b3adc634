/**
 * The JavaScript float64 route of {@link ProductRoute}: C += A^T B over a block of rows, A [r, da],
 * B [r, db] row-major float64 (shifted data). Products of float32-representable values are exact
 * in float64 and the sums carry float64 rounding only, so these Gram matrices are accurate where a
 * float32 matmul's are not (ill-conditioned or rank-deficient states). Taken without the native
 * BLAS. Plain JavaScript: 4x4 register blocks over packed column-major copies, ~1.5-5 GFLOP/s on
 * one core.
 */
import type { ProductRoute } from "./products";

/**
 * Rows summed in registers before they are added to the tile's sums: the rounding of a sum of r
 * products then grows like a BLAS kernel's (OpenBLAS sums its K loop in panels of a few hundred),
 * not like one sequential sum of 4,096; the precision cut's Gram floor (cut.ts) assumes that.
 */
const SUB_ROWS = 256;

/** Pack the columns of a [r, d] row-major block into a column-major copy ([d, r]), padded to 4 columns. */
function packColumns(x: Float64Array, r: number, d: number): Float64Array {
  const dp = (d + 3) & ~3;
  const out = new Float64Array(dp * r);
  for (let t = 0; t < r; t++) {
    const o = t * d;
    for (let c = 0; c < d; c++) out[c * r + t] = x[o + c];
  }
  return out;
}

/**
 * acc [da, db] += A^T B. With `symmetric` (A === B, da = db) only blocks on and above the
 * diagonal are computed and mirrored, halving the work.
 */
export function addProduct64(A: Float64Array, da: number, B: Float64Array, db: number, r: number, acc: Float64Array, symmetric = false): void {
  const Ap = packColumns(A, r, da);
  const Bp = symmetric ? Ap : packColumns(B, r, db);
  const dap = (da + 3) & ~3, dbp = (db + 3) & ~3;
  const tile = new Float64Array(16);
  for (let i = 0; i < dap; i += 4) {
    const a0 = i * r, a1 = a0 + r, a2 = a1 + r, a3 = a2 + r;
    for (let j = symmetric ? i : 0; j < dbp; j += 4) {
      const b0 = j * r, b1 = b0 + r, b2 = b1 + r, b3 = b2 + r;
      // Sums over SUB_ROWS rows at a time, then added: a rounding like a BLAS kernel's blocked
      // K loop (see SUB_ROWS), not a sequential sum over the whole block.
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let t0 = 0; t0 < r; t0 += SUB_ROWS) {
        const t1 = Math.min(r, t0 + SUB_ROWS);
        let e00 = 0, e01 = 0, e02 = 0, e03 = 0, e10 = 0, e11 = 0, e12 = 0, e13 = 0;
        let e20 = 0, e21 = 0, e22 = 0, e23 = 0, e30 = 0, e31 = 0, e32 = 0, e33 = 0;
        for (let t = t0; t < t1; t++) {
          const x0 = Ap[a0 + t], x1 = Ap[a1 + t], x2 = Ap[a2 + t], x3 = Ap[a3 + t];
          const y0 = Bp[b0 + t], y1 = Bp[b1 + t], y2 = Bp[b2 + t], y3 = Bp[b3 + t];
          e00 += x0 * y0; e01 += x0 * y1; e02 += x0 * y2; e03 += x0 * y3;
          e10 += x1 * y0; e11 += x1 * y1; e12 += x1 * y2; e13 += x1 * y3;
          e20 += x2 * y0; e21 += x2 * y1; e22 += x2 * y2; e23 += x2 * y3;
          e30 += x3 * y0; e31 += x3 * y1; e32 += x3 * y2; e33 += x3 * y3;
        }
        c00 += e00; c01 += e01; c02 += e02; c03 += e03;
        c10 += e10; c11 += e11; c12 += e12; c13 += e13;
        c20 += e20; c21 += e21; c22 += e22; c23 += e23;
        c30 += e30; c31 += e31; c32 += e32; c33 += e33;
      }
      tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
      tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
      tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23;
      tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33;
      for (let p = 0; p < 4 && i + p < da; p++) {
        for (let q = 0; q < 4 && j + q < db; q++) {
          const v = tile[p * 4 + q];
          if (symmetric && j + q < i + p) continue; // lower part of a diagonal tile: mirrored below
          acc[(i + p) * db + j + q] += v;
          if (symmetric && j + q !== i + p) acc[(j + q) * db + i + p] += v;
        }
      }
    }
  }
}

/** {@link addProduct64} as a route (fills both triangles of a self-product). */
export const jsFloat64Products: ProductRoute<Float64Array> = {
  kind: "float64",
  upperOnly: false,
  add: (A, da, B, db, rows, acc, same) => addProduct64(A, da, B, db, rows, acc, same),
};
