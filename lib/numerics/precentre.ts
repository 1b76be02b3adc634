/**
 * Centring float64 data in float64 before it becomes float32 (scoreFiles, `linearity score` on
 * float64 .npy files): X = 1e8 + N(0, 1) keeps its spread, which a cast first would round away.
 * Scores do not depend on centring; the precision cut then sees float32 values without offsets.
 */
import { FLOAT32_MAX } from "../io/npy";

/**
 * Column means in float64, [d], of rows read in steps (`read(start, end)` gives rows
 * start..end as [rows, d] float64). Throws, naming `what`, the row and column, on NaN/Inf and on a
 * value beyond float32's range.
 */
export function floatColumnMeans64(read: (start: number, end: number) => Float64Array, rows: number, d: number, step: number, what: string): Float64Array {
  const m = new Float64Array(d);
  for (let s = 0; s < rows; s += step) {
    const v = read(s, Math.min(rows, s + step));
    for (let k = 0; k < v.length; k++) {
      // Named here, before a NaN mean turns its whole column into NaN (reported as out of range).
      if (!Number.isFinite(v[k])) throw new Error(`${what}: has ${v[k]} at row ${s + Math.floor(k / d)}, column ${k % d}`);
      if (Math.abs(v[k]) > FLOAT32_MAX) {
        throw new Error(`${what}: value ${v[k]} at row ${s + Math.floor(k / d)}, column ${k % d} does not fit in float32 (largest ${FLOAT32_MAX.toPrecision(2)})`);
      }
      m[k % d] += v[k];
    }
  }
  for (let c = 0; c < d; c++) m[c] /= rows;
  return m;
}

/** v [rows, d] float64 minus the column means, as float32; `start` is v's first row (for errors). */
export function centredToFloat32(v: Float64Array, mean: Float64Array, d: number, start: number, what: string): Float32Array {
  const out = Float32Array.from(v, (val, k) => val - mean[k % d]);
  for (let k = 0; k < out.length; k++) {
    // A finite value that stays beyond float32's range after centring cannot be scored in float32.
    if (!Number.isFinite(out[k]) && Number.isFinite(v[k])) {
      throw new Error(`${what}: row ${start + Math.floor(k / d)}, column ${k % d} is ${v[k]}, beyond float32's range (${FLOAT32_MAX.toPrecision(2)}) even after centring`);
    }
  }
  return out;
}
