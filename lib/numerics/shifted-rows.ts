/**
 * The first steps every moment accumulator (gram-accumulator.ts, moment-accumulator.ts) takes on
 * a block of rows: a fixed shift (the float32-rounded column means of the first rows), the shifted
 * values in float64 (exact for float32 data: centring without cancellation), the NaN/Inf check
 * naming the state, row and column, and the float64 column sums and sum of squares. The exact
 * correction from shifted to centred sums happens on read (products.ts, `centreProduct`).
 */

/** Float32-rounded column means of x [rows, d] (a shift; non-finite values are skipped, the scan reports them). */
export function float32ColumnMeans(x: Float32Array, rows: number, d: number): Float32Array {
  const m = new Float64Array(d);
  for (let t = 0; t < rows; t++) {
    for (let c = 0; c < d; c++) {
      const v = x[t * d + c];
      if (Number.isFinite(v)) m[c] += v;
    }
  }
  return Float32Array.from(m, (v) => v / rows);
}

/** Who a block belongs to, for error messages: the function, the state's name, the absolute index of the block's row 0. */
export interface RowsAt {
  fn: string;
  name: string;
  firstRow: number;
}

/**
 * out [r1 - r0, d] = rows r0..r1 of x [rows, d] minus `shift`, in float64 (exact). Throws naming
 * the first NaN/Inf (row `at.firstRow + t` for row r0 + t).
 */
export function shiftRows(x: Float32Array, shift: Float32Array | Float64Array, r0: number, r1: number, out: Float64Array, at: RowsAt): void {
  const d = shift.length;
  let check = 0;
  for (let t = 0; t < r1 - r0; t++) {
    const o = (r0 + t) * d, w = t * d;
    for (let c = 0; c < d; c++) {
      const e = x[o + c] - shift[c];
      out[w + c] = e;
      check += e;
    }
  }
  // NaN or Inf anywhere makes the sum non-finite (float32 values cannot overflow a float64 sum).
  if (check - check !== 0) {
    for (let k = r0 * d; k < r1 * d; k++) {
      const v = x[k];
      if (v - v !== 0) throw new Error(`${at.fn}: '${at.name}' has ${v} at row ${at.firstRow + Math.floor(k / d) - r0}, column ${k % d}`);
    }
  }
}

/** out [rows, d] = b - a elementwise (a derived difference state, exact for shifted float32 data). */
export function subtractRows(b: Float64Array, a: Float64Array, n: number, out: Float64Array): void {
  for (let k = 0; k < n; k++) out[k] = b[k] - a[k];
}

/** colsums [d] += the column sums of v [rows, d]; returns its sum of squares (summed per row, then over rows). */
export function addRowSums(v: Float64Array, rows: number, colsums: Float64Array): number {
  const d = colsums.length;
  let ss = 0;
  for (let t = 0; t < rows; t++) {
    const o = t * d;
    let row = 0;
    for (let c = 0; c < d; c++) {
      const e = v[o + c];
      colsums[c] += e;
      row += e * e;
    }
    ss += row;
  }
  return ss;
}
