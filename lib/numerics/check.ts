/**
 * Argument checks shared by every public function. Messages follow one form so a user can see
 * at once which function, which argument, what was expected and what arrived:
 *   `linearityScore: 'y' expected shape [tokens=1000, d_model] , got [999, 768]`
 */
import { nativeMemory } from "../native/blas";

/** A dimension spec: a name (any size), or a name with a required size. */
export type Dim = string | readonly [name: string, size: number];

function describe(dims: readonly Dim[]): string {
  return "[" + dims.map((d) => (typeof d === "string" ? d : `${d[0]}=${d[1]}`)).join(", ") + "]";
}

/** Throw unless `shape` matches `dims` (rank and any fixed sizes). Returns the shape. */
export function checkShape(
  fn: string,
  arg: string,
  shape: readonly number[],
  dims: readonly Dim[],
): readonly number[] {
  const ok =
    shape.length === dims.length &&
    dims.every((d, i) => typeof d === "string" || d[1] === shape[i]);
  if (!ok) {
    throw new Error(`${fn}: '${arg}' expected shape ${describe(dims)}, got [${shape.join(", ")}]`);
  }
  return shape;
}

/**
 * Throw with the position of the first NaN or ±Inf in a row-major [rows, cols] buffer. A
 * Float32Array is scanned in C where the native addon provides it (a batch of states is tens of
 * millions of values); the loop below then only runs from the row of the value found.
 */
export function checkFinite(
  fn: string,
  arg: string,
  values: ArrayLike<number>,
  cols: number,
  rowOffset = 0,
): void {
  let from = 0;
  const native = values instanceof Float32Array ? nativeMemory()?.findNonFinite : undefined;
  if (native !== undefined) {
    const first = native(values as Float32Array);
    if (first < 0) return;
    from = first;
  }
  for (let i = from; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      const row = rowOffset + Math.floor(i / cols);
      const col = i % cols;
      throw new Error(`${fn}: '${arg}' has ${v} at row ${row}, column ${col}`);
    }
  }
}

/**
 * Throw unless a row-major chunk of `length` values holds whole rows of `cols` values (and, when
 * `rows` is given, exactly that many). Message form:
 *   `linearityMatrix: 'states[2]' expected shape [rows=1024, d_model=768], got 1000 values`
 * Returns the number of rows.
 */
export function checkChunk(
  fn: string,
  arg: string,
  length: number,
  colName: string,
  cols: number,
  rows?: number,
): number {
  const n = length / cols;
  const ok = Number.isInteger(n) && (rows === undefined || n === rows);
  if (!ok) {
    const rowSpec = rows === undefined ? "rows" : `rows=${rows}`;
    throw new Error(
      `${fn}: '${arg}' expected shape [${rowSpec}, ${colName}=${cols}], got ${length} values` +
        (Number.isInteger(n) ? ` (${n} rows)` : ` (not a whole number of rows)`),
    );
  }
  return n;
}
