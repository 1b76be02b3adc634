/**
 * Streaming per-unit float64 moments ({@link MomentSet}) in one pass over the data: the moments
 * behind `linearity moments`, `--groups` / `--folds` scores, cross-validation and the jackknife.
 *
 * Each row belongs to a unit (its group id, or the id modulo a count; see {@link UnitRule}).
 * The same design as {@link GramAccumulator} (gram-accumulator.ts), on its exact float64 route
 * only, with one set of sums per unit: every state is shifted by a fixed vector (the float32
 * column means of the first chunk) and converted to float64 exactly (shifted-rows.ts); then each
 * run of consecutive rows of one unit adds its column sums, sums of squares and the requested
 * block products (products.ts: the native BLAS, else JavaScript float64) into that unit's sums.
 * Rows come in document order, so runs are long and the products cost what one unit-less pass
 * costs. At the end each unit is centred about its own means (the mergeable form). Memory: one
 * copy of the requested blocks per unit.
 */
import { checkChunk } from "./check";
import { type ProductRoute, centreProduct, float64Route, fullProduct } from "./products";
import { addRowSums, float32ColumnMeans, shiftRows } from "./shifted-rows";
import { type MomentSet, type MomentState, type UnitMoments, type UnitRule } from "./moment-set";

/** Options of {@link MomentAccumulator}. */
export interface MomentAccumulatorOptions {
  /** Function name used in error messages. */
  fn: string;
  /** The states: names, d_model and storage dtypes. */
  states: MomentState[];
  /** Blocks to keep, (i, j) with i <= j. */
  products: [number, number][];
  /** How group ids become units (default: every row in unit 0). */
  unitRule?: UnitRule;
  /** Use the native BLAS when available (default true). */
  native?: boolean;
}

/** Rows converted to float64 at a time (larger chunks are cut). */
const BLOCK_ROWS = 4096;

/** A unit's running sums about the shift. */
interface UnitSums {
  count: number;
  colsums: Float64Array[];
  squares: Float64Array;
  /** Shifted block products; (i, i) blocks hold their upper triangle only on the native route (`upperOnly`). */
  products: Float64Array[];
}

/** One pass of per-unit float64 moments; `result()` gives the {@link MomentSet}. */
export class MomentAccumulator {
  readonly unitRule: UnitRule;
  private readonly dims: number[];
  private readonly route: ProductRoute<Float64Array>;
  private readonly units = new Map<number, UnitSums>();
  private shifts: Float32Array[] | undefined;
  private buffers: Float64Array[] = [];
  private rows = 0;

  constructor(private readonly opts: MomentAccumulatorOptions) {
    this.dims = opts.states.map((s) => s.dim);
    for (const [i, j] of opts.products) {
      if (!(Number.isInteger(i) && Number.isInteger(j) && 0 <= i && i <= j && j < this.dims.length)) throw new Error(`${opts.fn}: bad product pair (${i}, ${j})`);
    }
    this.unitRule = opts.unitRule ?? { kind: "one" };
    if (this.unitRule.kind === "group mod" && !(Number.isInteger(this.unitRule.modulus) && this.unitRule.modulus! >= 1)) {
      throw new Error(`${opts.fn}: units by group mod needs a positive modulus, got ${this.unitRule.modulus}`);
    }
    this.route = float64Route(opts.native !== false);
  }

  /** Tokens added so far. */
  get nTokens(): number {
    return this.rows;
  }

  /** The unit of group id g. */
  private unitOf(g: number, row: number): number {
    if (this.unitRule.kind === "one") return 0;
    if (!(Number.isInteger(g) && g >= 0)) throw new Error(`${this.opts.fn}: group id ${g} at row ${row} is not a non-negative integer`);
    return this.unitRule.kind === "group" ? g : g % this.unitRule.modulus!;
  }

  /**
   * Add rows: `states[s]` is [rows, d_s] row-major float32 (the same rows for every state), and
   * `groups[t]` the group id of row t (needed unless the rule is "one").
   */
  add(states: readonly Float32Array[], groups?: ArrayLike<number>): void {
    const S = this.dims.length, fn = this.opts.fn;
    if (states.length !== S) throw new Error(`${fn}: expected ${S} state buffers per chunk, got ${states.length}`);
    const rows = checkChunk(fn, this.opts.states[0].name, states[0].length, "d_model", this.dims[0]);
    for (let s = 1; s < S; s++) checkChunk(fn, this.opts.states[s].name, states[s].length, "d_model", this.dims[s], rows);
    if (this.unitRule.kind !== "one") {
      if (groups === undefined) throw new Error(`${fn}: group ids are needed (units by ${this.unitRule.kind})`);
      if (groups.length !== rows) throw new Error(`${fn}: ${groups.length} group ids for ${rows} rows`);
    }
    if (rows === 0) return;
    this.shifts ??= states.map((x, s) => float32ColumnMeans(x, rows, this.dims[s]));
    for (let r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
      const r1 = Math.min(rows, r0 + BLOCK_ROWS);
      const f64 = this.scan(states, r0, r1);
      // Runs of consecutive rows in one unit.
      let a = 0;
      while (a < r1 - r0) {
        const unit = this.unitOf(groups === undefined ? 0 : groups[r0 + a], this.rows + r0 + a);
        let b = a + 1;
        while (b < r1 - r0 && this.unitOf(groups === undefined ? 0 : groups[r0 + b], this.rows + r0 + b) === unit) b++;
        this.addRun(this.sumsOf(unit), f64, a, b);
        a = b;
      }
    }
    this.rows += rows;
  }

  /** Shifted float64 copies of rows r0..r1 of every state, checked for NaN/Inf. */
  private scan(states: readonly Float32Array[], r0: number, r1: number): Float64Array[] {
    const r = r1 - r0;
    return states.map((x, s) => {
      const d = this.dims[s], n = r * d;
      if (this.buffers[s] === undefined || this.buffers[s].length < n) this.buffers[s] = new Float64Array(Math.min(BLOCK_ROWS, Math.max(r, 1)) * d);
      const v = this.buffers[s].subarray(0, n);
      shiftRows(x, this.shifts![s], r0, r1, v, { fn: this.opts.fn, name: this.opts.states[s].name, firstRow: this.rows + r0 });
      return v;
    });
  }

  private sumsOf(unit: number): UnitSums {
    let u = this.units.get(unit);
    if (u === undefined) {
      u = {
        count: 0,
        colsums: this.dims.map((d) => new Float64Array(d)),
        squares: new Float64Array(this.dims.length),
        products: this.opts.products.map(([i, j]) => new Float64Array(this.dims[i] * this.dims[j])),
      };
      this.units.set(unit, u);
    }
    return u;
  }

  /** Rows a..b of the scanned block into one unit's sums. */
  private addRun(u: UnitSums, f64: Float64Array[], a: number, b: number): void {
    const r = b - a;
    u.count += r;
    const views = f64.map((v, s) => v.subarray(a * this.dims[s], b * this.dims[s]));
    views.forEach((v, s) => (u.squares[s] += addRowSums(v, r, u.colsums[s])));
    this.opts.products.forEach(([i, j], k) => this.route.add(views[i], this.dims[i], views[j], this.dims[j], r, u.products[k], i === j));
  }

  /** The per-unit moments, each centred about its own means (units by ascending id). */
  result(): MomentSet {
    if (this.rows === 0) throw new Error(`${this.opts.fn}: no rows were given`);
    const units: UnitMoments[] = [...this.units.entries()].sort(([a], [b]) => a - b).map(([id, u]) => this.centred(id, u));
    return {
      states: this.opts.states.map((s) => ({ ...s })),
      products: this.opts.products.map(([i, j]) => [i, j] as [number, number]),
      unitRule: { ...this.unitRule },
      units,
    };
  }

  private centred(id: number, u: UnitSums): UnitMoments {
    const n = u.count;
    const means = u.colsums.map((cs, s) => Float64Array.from(cs, (v, c) => this.shifts![s][c] + v / n));
    const sumSquares = Float64Array.from(u.squares, (ss, s) => {
      let m2 = 0;
      for (const v of u.colsums[s]) m2 += v * v;
      return Math.max(0, ss - m2 / n);
    });
    const blocks = this.opts.products.map(([i, j], k) => {
      const out = fullProduct(u.products[k], this.dims[i], i === j, this.route.upperOnly);
      centreProduct(out, u.colsums[i], u.colsums[j], n);
      return out;
    });
    return { id, count: n, means, sumSquares, blocks };
  }
}
