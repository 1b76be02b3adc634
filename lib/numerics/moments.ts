/**
 * Streaming second moments of several hidden states, in O(d_model^2) memory whatever the number
 * of tokens. This is the only O(tokens * d_model^2) work in the package.
 *
 * Numerics (see docs/numerics.md, "Accuracy"):
 * - Each state is shifted by a fixed vector s (the float32-rounded column mean of the first
 *   rows) before any product. Covariances are shift-invariant; the exact correction is applied
 *   in float64 from the column sums of the shifted data, so a large mean never meets float32
 *   cancellation.
 * - Column sums and sums of squares are float64 loops over the exact shifted values.
 * - Derived states: `differences` (i, j) define D = X_j - X_i, formed per row in float64 (exact
 *   for float32 inputs), usable as a product partner: the residual score then needs no
 *   cancelling subtraction of two large Gram matrices.
 * - With the native BLAS (lib/native: OpenBLAS, both cores), every "auto" state takes the float64
 *   route: exact float64 products (each shifted float32 block converted once, exactly) by dgemm /
 *   dsyrk on blocks of up to {@link NATIVE_BLOCK_ROWS} rows, summed in float64. One route for every
 *   conditioning, no warm-up decision. Without it (no addon, no OpenBLAS, LINEARITY_NATIVE=0, or
 *   option `native: false`), the routes below.
 * - Two routes per left operand, fixed by the warm-up (warmup.ts):
 *   "float32": tfjs float32 matmuls on blocks of `blockRows` rows (explicit transpose: transposeA
 *   is ~20x slower on wasm), columns scaled by powers of two (exact) so no product overflows,
 *   block sums added into float64. Fast; accurate for well-conditioned states.
 *   "float64": exact float64 products in plain JavaScript (gemm64.ts). Slower; accurate for
 *   ill-conditioned and rank-deficient states, and the route a block takes when a value would
 *   overflow or underflow the float32 products.
 * - Warm-up: the first `warmupRows` rows go the float32 route while a copy is kept; then the
 *   float32 Gram of those rows decides each "auto" state's route. A state that needs float64 has
 *   its sums so far replaced by float64 products of the kept rows. No row is multiplied twice on
 *   the fast path.
 */
import { nativeBlas, type NativeBlas } from "../native/blas";
import { BlockProducts, ProductPlan } from "./block-products";
import { checkChunk } from "./check";
import { type StorageDtype } from "./cut";
import { addProduct64 } from "./gemm64";
import { type FactorOptions, type GramFactor, factorGram } from "./solve";
import { Route, chooseRoute, columnScales } from "./warmup";

/** Options of {@link GramAccumulator}. */
export interface GramAccumulatorOptions {
  /** Function name used in error messages. */
  fn: string;
  /** Argument name per state, for error messages (e.g. "x", "y" or "states[3]"). */
  names: readonly string[];
  /** d_model of each state. */
  dims: readonly number[];
  /**
   * Pairs (i, j): accumulate Xi^T Xj ([d_i, d_j]). Indices below dims.length are given states;
   * dims.length + k is the k-th derived difference (see `differences`). i must be a given state.
   */
  products: readonly (readonly [number, number])[];
  /** Pairs (i, j) with d_i = d_j: the derived state X_j - X_i (its sums are always accumulated). */
  differences?: readonly (readonly [number, number])[];
  /** Rows per float32 matmul block; default {@link DEFAULT_BLOCK_ROWS}. */
  blockRows?: number;
  /** Per given state, its route as the left operand of products: "auto" (default), "float32" or "float64". */
  route?: readonly (Route | "auto")[];
  /** Rows whose float32 Gram decides the "auto" routes; default 4 x the largest d_model. */
  warmupRows?: number;
  /**
   * Use the native BLAS when it is available (default true): every "auto" state then takes the
   * float64 route, multiplied by dgemm / dsyrk. false: the tfjs / JavaScript routes only.
   */
  native?: boolean;
}

/** Key of the product (i, j) in the sums maps. */
const key = (i: number, j: number): string => `${i},${j}`;


/** Largest magnitude a scaled value may have on the float32 route (products of 1024-row blocks stay far below float32's 3.4e38 = 2^128). */
const F32_MAX_SCALED = 2 ** 40;
/** Smallest non-zero magnitude a scaled value may have on the float32 route (products stay normal floats). */
const F32_MIN_SCALED = 2 ** -60;

/**
 * Rows per float32 matmul block. The float32 sums inside one matmul carry an error that grows
 * like sqrt(rows): 256 keeps the score within ~2e-7 of float64 on well-conditioned states
 * (1024: ~6e-7; docs/numerics.md, "Accuracy").
 */
export const DEFAULT_BLOCK_ROWS = 256;

/**
 * Most rows per block on the native route (dgemm / dsyrk run near peak from ~1,000 rows on). Fewer
 * when the float64 copies of one block of every state would exceed {@link NATIVE_BLOCK_BYTES}.
 */
export const NATIVE_BLOCK_ROWS = 4096;

/** Memory for the float64 copies of one block of every state (given and differences) on the native route. */
export const NATIVE_BLOCK_BYTES = 128 * 2 ** 20;

/** Streaming float64 accumulator of shifted cross-products, column sums and sums of squares. */
export class GramAccumulator {
  readonly fn: string;
  readonly names: readonly string[];
  /** d_model of every state, given ones first, then the derived differences. */
  readonly dims: readonly number[];
  readonly blockRows: number;
  private readonly given: number;
  private readonly diffPairs: readonly (readonly [number, number])[];
  private processed = 0;
  private readonly shifts: Float32Array[] = [];
  /** Per state: power-of-two column scales of the float32 route (exact; undone in float64). */
  private readonly scales: Float32Array[] = [];
  private readonly colsums: Float64Array[];
  private readonly sumsqs: Float64Array;
  /** Sums of float32-route block products, in SCALED units. */
  private readonly prods32 = new Map<string, Float64Array>();
  /** Sums of float64-route block products, in data units. */
  private readonly prods64 = new Map<string, Float64Array>();
  private readonly left: Map<number, number[]>;
  private readonly productKeys = new Set<string>();
  private readonly routes: (Route | "auto")[];
  private readonly conds: number[];
  private readonly warmupRows: number;
  /** The native BLAS, when used (then every float64-route product is a dgemm / dsyrk). */
  private readonly blas: NativeBlas | undefined;
  /** Rows per block: {@link blockRows}, or larger on an all-native accumulator. */
  private readonly chunkRows: number;
  /** Reused float64 block buffers of the native route, one per state. */
  private buffers64: Float64Array[] = [];
  private local: BlockProducts | undefined;
  /** Rows given before the shift is fixed. */
  private pending: Float32Array[][] = [];
  private pendingRows = 0;
  private started = false;
  /** Copies of the rows processed during the warm-up (for a float64 redo). */
  private kept: { blocks: Float32Array[]; overflow: boolean }[] | undefined = [];
  private decided = false;

  constructor(opts: GramAccumulatorOptions) {
    this.fn = opts.fn;
    this.names = opts.names;
    this.given = opts.dims.length;
    this.diffPairs = opts.differences ?? [];
    for (const [i, j] of this.diffPairs) {
      if (!(i < this.given && j < this.given)) throw new Error(`${this.fn}: bad difference pair (${i}, ${j})`);
      if (opts.dims[i] !== opts.dims[j]) throw new Error(`${this.fn}: difference of states with different d_model`);
    }
    this.dims = [...opts.dims, ...this.diffPairs.map(([i]) => opts.dims[i])];
    this.blockRows = opts.blockRows ?? DEFAULT_BLOCK_ROWS;
    if (!(Number.isInteger(this.blockRows) && this.blockRows >= 1)) throw new Error(`${this.fn}: 'blockRows' must be a positive integer, got ${opts.blockRows}`);
    const S = this.dims.length;
    this.colsums = this.dims.map((d) => new Float64Array(d));
    this.sumsqs = new Float64Array(S);
    this.left = new Map();
    this.routes = Array.from({ length: this.given }, (_, i) => opts.route?.[i] ?? "auto");
    this.conds = new Array(this.given).fill(NaN);
    this.blas = opts.native === false ? undefined : nativeBlas();
    for (const [i, j] of opts.products) {
      if (!(i < this.given && j < S)) throw new Error(`${this.fn}: bad product pair (${i}, ${j})`);
      // Sums are allocated on first use: a d_model = 4,096 product is 134 MB of float64.
      this.productKeys.add(key(i, j));
      if (!this.left.has(i)) this.left.set(i, []);
      this.left.get(i)!.push(j);
    }
    const leftDims = [...this.left.keys()].map((i) => this.dims[i]);
    this.warmupRows = opts.warmupRows ?? Math.max(this.blockRows, 4 * Math.max(0, ...leftDims));
    // Native: dgemm costs ~2x sgemm here and is exact on every state, so no warm-up decides.
    if (this.blas) for (const i of this.left.keys()) if (this.routes[i] === "auto") this.routes[i] = "float64";
    if (![...this.left.keys()].some((i) => this.routes[i] === "auto")) this.decided = true;
    if (this.decided) this.kept = undefined;
    const allNative = this.blas !== undefined && [...this.left.keys()].every((i) => this.routes[i] === "float64");
    const rowBytes = 8 * this.dims.reduce((a, b) => a + b, 0);
    this.chunkRows = allNative ? Math.max(this.blockRows, Math.min(NATIVE_BLOCK_ROWS, Math.floor(NATIVE_BLOCK_BYTES / rowBytes))) : this.blockRows;
  }

  /** True when the products run on the native BLAS (every float64-route product). */
  get native(): boolean {
    return this.blas !== undefined;
  }

  /** The float64-route sums of product (i, j), created on first use. */
  private sums64(i: number, j: number): Float64Array {
    const k = key(i, j);
    let v = this.prods64.get(k);
    if (!v) this.prods64.set(k, (v = new Float64Array(this.dims[i] * this.dims[j])));
    return v;
  }

  /** Rows given so far. */
  get rows(): number {
    return this.processed + this.pendingRows;
  }

  /**
   * Add rows: `states[i]` is [rows, d_i] row-major float32, the same rows for every given state.
   * Throws (naming the state, the absolute row and column) on NaN/Inf, and on a wrong length.
   */
  add(states: readonly Float32Array[]): void {
    for (const [blocks, r] of this.admit(states)) this.addBlock(blocks, r);
  }

  /** Check a chunk, fix the shift once enough rows are there, and cut what is ready into blocks. */
  private admit(states: readonly Float32Array[]): [Float32Array[], number][] {
    const S = this.given;
    if (states.length !== S) throw new Error(`${this.fn}: expected ${S} state buffers per chunk, got ${states.length}`);
    const rows = checkChunk(this.fn, this.names[0], states[0].length, "d_model", this.dims[0]);
    for (let i = 1; i < S; i++) checkChunk(this.fn, this.names[i], states[i].length, "d_model", this.dims[i], rows);
    let ready: readonly Float32Array[] = states;
    let n = rows;
    if (!this.started) {
      // Rows that wait for a later chunk are copied (the caller may reuse its buffers).
      const startsNow = this.pendingRows + rows >= this.chunkRows;
      this.pending.push(startsNow ? [...states] : states.map((x) => x.slice()));
      this.pendingRows += rows;
      if (this.pendingRows < this.chunkRows) return [];
      ready = this.start();
      n = this.pendingRows;
      this.pendingRows = 0;
    }
    const out: [Float32Array[], number][] = [];
    for (let r0 = 0; r0 < n; r0 += this.chunkRows) {
      const r1 = Math.min(n, r0 + this.chunkRows);
      out.push([ready.map((x, i) => x.subarray(r0 * this.dims[i], r1 * this.dims[i])), r1 - r0]);
    }
    return out;
  }

  /** Fix shifts and column scales from the buffered rows; returns them concatenated. */
  private start(): Float32Array[] {
    const n = this.pendingRows;
    const pending = this.pending;
    const all = Array.from({ length: this.given }, (_, i) => {
      if (pending.length === 1) return pending[0][i];
      const buf = new Float32Array(n * this.dims[i]);
      let o = 0;
      for (const chunk of this.pending) {
        buf.set(chunk[i], o);
        o += chunk[i].length;
      }
      return buf;
    });
    this.pending = [];
    for (let i = 0; i < this.given; i++) {
      const d = this.dims[i], x = all[i];
      const m = new Float64Array(d);
      for (let t = 0; t < n; t++) {
        for (let c = 0; c < d; c++) {
          const v = x[t * d + c];
          if (Number.isFinite(v)) m[c] += v; // non-finite values are reported by the scan
        }
      }
      this.shifts[i] = Float32Array.from(m, (v) => v / n);
    }
    for (const [i, j] of this.diffPairs) this.shifts.push(Float32Array.from(this.shifts[j], (v, c) => v - this.shifts[i][c]));
    // Column scales serve the float32 route only.
    for (let s = 0; s < this.dims.length && this.anyFloat32Left(); s++) {
      const [i, j] = s < this.given ? [s, -1] : this.diffPairs[s - this.given];
      this.scales[s] = columnScales(all, this.dims, this.shifts, n, i, j);
    }
    this.started = true;
    return all;
  }

  /** One block: scan it, then products on each left state's route. */
  private addBlock(blocks: Float32Array[], r: number): void {
    const scan = this.scanBlock(blocks, r);
    this.products(scan, r);
    this.processed += r;
    if (!this.decided) {
      this.kept!.push({ blocks: blocks.map((x) => x.slice()), overflow: scan.overflow });
      if (this.processed >= this.warmupRows) this.decide();
    }
  }

  /** Route decision at the end of the warm-up: redo in float64 what must be. */
  private decide(): void {
    this.decided = true;
    const redo: number[] = [];
    for (const i of this.left.keys()) {
      if (this.routes[i] !== "auto") continue;
      const { route, conditionEstimate } = chooseRoute(this.centered(i, i), this.dims[i], this.blockRows, this.shiftedDiagonal(i));
      this.conds[i] = conditionEstimate;
      this.routes[i] = route;
      if (route === "float64") redo.push(i);
    }
    const kept = this.kept!;
    this.kept = undefined;
    // A new float32 plan without the states that moved to float64.
    this.local = undefined;
    if (redo.length === 0) return;
    for (const i of redo) for (const j of this.left.get(i)!) this.prods32.delete(key(i, j));
    // Replay the kept rows through the float64 route for those states only (sums are already in).
    for (const { blocks, overflow } of kept) {
      if (overflow) continue; // already summed on the float64 route
      const r = blocks[0].length / this.dims[0];
      const shifted = this.shifted64(blocks, r);
      for (const i of redo) this.products64(shifted, r, i);
    }
  }

  /**
   * Float64 products of left state i with its partners on one block of shifted values: dgemm /
   * dsyrk on the native BLAS (dsyrk fills the upper triangle; {@link product} mirrors it), else
   * plain JavaScript (gemm64.ts).
   */
  private products64(f64: readonly Float64Array[], r: number, i: number): void {
    const di = this.dims[i], blas = this.blas;
    for (const j of this.left.get(i)!) {
      const dj = this.dims[j], acc = this.sums64(i, j);
      if (!blas) addProduct64(f64[i], di, f64[j], dj, r, acc, i === j);
      else if (i === j) blas.syrkUpper(di, r, f64[i], di, acc, di);
      else blas.gemm(true, false, di, dj, r, 1, f64[i], di, f64[j], dj, 1, acc, dj);
    }
  }

  /** Exact float64 shifted values of every state of a block (given states, then differences), [r, d_s] each. */
  private shifted64(blocks: readonly Float32Array[], r: number): Float64Array[] {
    const out: Float64Array[] = [];
    for (let i = 0; i < this.given; i++) {
      const d = this.dims[i], s = this.shifts[i], x = blocks[i];
      const v = new Float64Array(r * d);
      for (let t = 0, k = 0; t < r; t++) for (let c = 0; c < d; c++, k++) v[k] = x[k] - s[c];
      out.push(v);
    }
    for (const [i, j] of this.diffPairs) {
      const a = out[i], b = out[j];
      out.push(Float64Array.from(b, (v, k) => v - a[k]));
    }
    return out;
  }

  /**
   * {@link scanBlock} when every product is float64 (always on the native BLAS): one pass per
   * state checks for NaN/Inf, shifts into float64 (exact) and adds the column sums and the sum of
   * squares. No scaled float32 copies; float64 products of float32 data cannot overflow.
   */
  private scan64(blocks: readonly Float32Array[], r: number): Float64Array[] {
    const reuse = this.blas !== undefined;
    const out: Float64Array[] = [];
    const buffer = (s: number) => {
      const n = r * this.dims[s];
      if (!reuse) return new Float64Array(n);
      if (this.buffers64[s] === undefined || this.buffers64[s].length < n) this.buffers64[s] = new Float64Array(this.chunkRows * this.dims[s]);
      return this.buffers64[s].subarray(0, n);
    };
    for (let i = 0; i < this.given; i++) {
      const d = this.dims[i], sh = this.shifts[i], x = blocks[i], cs = this.colsums[i], v = buffer(i);
      let ss = 0;
      for (let t = 0; t < r; t++) {
        const o = t * d;
        let row = 0;
        for (let c = 0; c < d; c++) {
          const e = x[o + c] - sh[c];
          v[o + c] = e;
          cs[c] += e;
          row += e * e;
        }
        ss += row;
      }
      // NaN or Inf anywhere makes the sum of squares non-finite (float32 squares cannot overflow float64).
      if (ss - ss !== 0) this.throwNonFinite(x, d, i);
      this.sumsqs[i] += ss;
      out.push(v);
    }
    for (let p = 0; p < this.diffPairs.length; p++) {
      const [i, j] = this.diffPairs[p], s = this.given + p, d = this.dims[s];
      const a = out[i], b = out[j], cs = this.colsums[s], v = buffer(s);
      let ss = 0;
      for (let t = 0; t < r; t++) {
        const o = t * d;
        let row = 0;
        for (let c = 0; c < d; c++) {
          const e = b[o + c] - a[o + c];
          v[o + c] = e;
          cs[c] += e;
          row += e * e;
        }
        ss += row;
      }
      this.sumsqs[s] += ss;
      out.push(v);
    }
    return out;
  }

  /** Throw naming the first NaN/Inf of state i's block x [rows, d] (absolute row). */
  private throwNonFinite(x: Float32Array, d: number, i: number): never {
    for (let k = 0; k < x.length; k++) {
      const v = x[k];
      if (v - v !== 0) throw new Error(`${this.fn}: '${this.names[i]}' has ${v} at row ${this.processed + Math.floor(k / d)}, column ${k % d}`);
    }
    throw new Error(`${this.fn}: '${this.names[i]}' has a sum of squares beyond float64's range`);
  }

  /** True when some left state takes the float32 route (then blocks need scaled float32 copies). */
  private anyFloat32Left(): boolean {
    for (const i of this.left.keys()) if (this.routes[i] !== "float64") return true;
    return false;
  }

  /**
   * Shift and check every state of a block, add its float64 sums, and prepare the float32 inputs
   * (scaled by powers of two). `overflow`: some value would leave the float32 products' safe
   * range, so this block goes the float64 route.
   */
  private scanBlock(blocks: readonly Float32Array[], r: number): { f64: Float64Array[]; f32: Float32Array[]; overflow: boolean } {
    if (!this.anyFloat32Left()) return { f64: this.scan64(blocks, r), f32: [], overflow: false };
    for (let i = 0; i < this.given; i++) {
      const x = blocks[i];
      for (let k = 0; k < x.length; k++) {
        const v = x[k];
        if (v - v !== 0) {
          const d = this.dims[i];
          throw new Error(`${this.fn}: '${this.names[i]}' has ${v} at row ${this.processed + Math.floor(k / d)}, column ${k % d}`);
        }
      }
    }
    const f64 = this.shifted64(blocks, r);
    const f32: Float32Array[] = [];
    let overflow = false;
    for (let s = 0; s < this.dims.length; s++) {
      const d = this.dims[s], v = f64[s], cs = this.colsums[s], sc = this.scales[s];
      const out = new Float32Array(r * d);
      let ss = 0;
      for (let t = 0; t < r; t++) {
        const o = t * d;
        for (let c = 0; c < d; c++) {
          const e = v[o + c];
          cs[c] += e;
          ss += e * e;
          const w = e * sc[c];
          // Too large (float32 products could overflow) or so small that they could underflow.
          if (!(Math.abs(w) <= F32_MAX_SCALED) || (w !== 0 && Math.abs(w) < F32_MIN_SCALED)) overflow = true;
          out[o + c] = w;
        }
      }
      this.sumsqs[s] += ss;
      f32.push(out);
    }
    return { f64, f32, overflow };
  }

  /** Products of one scanned block on each left state's route (in-thread). */
  private products(scan: { f64: Float64Array[]; f32: Float32Array[]; overflow: boolean }, r: number): void {
    for (const i of this.left.keys()) {
      const f32Route = this.routes[i] !== "float64" && !scan.overflow;
      if (!f32Route) this.products64(scan.f64, r, i);
    }
    if (scan.overflow) return;
    const f32Left = [...this.left.keys()].filter((i) => this.routes[i] !== "float64");
    if (f32Left.length === 0) return;
    this.local ??= new BlockProducts(this.plan(), this.prods32);
    this.local.add(this.productInputs(scan.f32, f32Left), r);
  }

  /** What the float32 block products need. */
  private plan(): ProductPlan {
    return {
      dims: [...this.dims],
      left: [...this.left].filter(([i]) => this.routes[i] !== "float64").map(([i, partners]) => [i, [...partners]] as [number, number[]]),
    };
  }

  /** Scaled float32 states the float32 products use (null for the others). */
  private productInputs(f32: Float32Array[], lefts = [...this.left.keys()].filter((i) => this.routes[i] !== "float64")): (Float32Array | null)[] {
    const used = new Set<number>();
    for (const i of lefts) {
      used.add(i);
      for (const j of this.left.get(i)!) used.add(j);
    }
    return f32.map((x, s) => (used.has(s) ? x : null));
  }

  /** Process buffered rows now (called before any result is read). */
  private flush(): void {
    if (!this.started && this.pendingRows > 0) {
      const all = this.start();
      const n = this.pendingRows;
      this.pendingRows = 0;
      for (let r0 = 0; r0 < n; r0 += this.chunkRows) {
        const r1 = Math.min(n, r0 + this.chunkRows);
        this.addBlock(all.map((x, i) => x.subarray(r0 * this.dims[i], r1 * this.dims[i])), r1 - r0);
      }
    }
    if (this.processed === 0) throw new Error(`${this.fn}: no rows were given`);
    if (!this.decided) this.decide();
  }

  /** The route state i took as a left operand ("auto" is resolved at the end of the warm-up). */
  route(i: number): Route {
    this.flush();
    const r = this.routes[i];
    return r === "auto" ? "float32" : r;
  }

  /**
   * Condition-number estimate of state i's correlation matrix on the warm-up rows (NaN when the
   * route was not "auto"; Infinity when columns looked dependent there).
   */
  conditionEstimate(i: number): number {
    this.flush();
    return this.conds[i];
  }

  /** The shift of state i (zeros before any row was added). */
  shift(i: number): Float32Array {
    return this.shifts[i] ?? new Float32Array(this.dims[i]);
  }

  /** Column means of state i in float64, [d_i]. */
  mean(i: number): Float64Array {
    this.flush();
    const s = this.shift(i), cs = this.colsums[i], n = this.processed;
    return Float64Array.from(cs, (v, c) => s[c] + v / n);
  }

  /**
   * The factorized centred Gram of state i, with the default precision cut for values stored as
   * `storage` (default float32; the raw sums of squares come from the means) or `rcond`.
   */
  factor(i: number, opts: { rcond?: number; storage?: StorageDtype; native?: boolean } = {}): GramFactor {
    const C = this.centered(i, i), d = this.dims[i], n = this.processed, mean = this.mean(i);
    const sumSquares = Float64Array.from(mean, (m, c) => C[c * d + c] + n * m * m);
    // The float32 route's sums carry ~2^-24 sqrt(blockRows) relative error; the float64 route's floor is cut.ts's model.
    const gramRoundoff = this.route(i) === "float32" ? 2 ** -24 * Math.sqrt(this.blockRows) : undefined;
    const fo: FactorOptions = { rcond: opts.rcond, precision: { dtype: opts.storage ?? "float32", rows: n, sumSquares, gramRoundoff }, rawDiag: this.shiftedDiagonal(i), native: opts.native };
    return factorGram(C, d, fo);
  }

  /** Centred cross-product sum (X_i - mean)^T (X_j - mean), [d_i, d_j] float64. */
  centered(i: number, j: number): Float64Array {
    const out = this.product(i, j); // a fresh copy: centred in place (134 MB at d_model 4,096)
    const di = this.dims[i], dj = this.dims[j], n = this.processed;
    const a = this.colsums[i], b = this.colsums[j];
    for (let p = 0; p < di; p++) {
      const ap = a[p] / n;
      for (let q = 0; q < dj; q++) out[p * dj + q] -= ap * b[q];
    }
    return out;
  }

  /** Plain (un-centred) cross-product sum X_i^T X_j, [d_i, d_j] float64, rebuilt from the shift. */
  uncentered(i: number, j: number): Float64Array {
    const out = this.product(i, j); // a fresh copy, completed in place
    const di = this.dims[i], dj = this.dims[j], n = this.processed;
    const si = this.shift(i), sj = this.shift(j), a = this.colsums[i], b = this.colsums[j];
    for (let p = 0; p < di; p++) {
      for (let q = 0; q < dj; q++) {
        out[p * dj + q] = out[p * dj + q] + a[p] * sj[q] + si[p] * b[q] + n * si[p] * sj[q];
      }
    }
    return out;
  }

  /** Diagonal of the shifted (not centred) Gram of state i: the scale centring cancels against. */
  shiftedDiagonal(i: number): Float64Array {
    // The diagonal of product(i, i), read without assembling the whole matrix.
    this.flush();
    if (!this.productKeys.has(key(i, i))) throw new Error(`${this.fn}: product (${i}, ${i}) was not accumulated`);
    const d = this.dims[i], p32 = this.prods32.get(key(i, i)), p64 = this.prods64.get(key(i, i)), s = this.scales[i];
    return Float64Array.from({ length: d }, (_, c) => {
      const v = p64 ? p64[c * d + c] : 0;
      return p32 ? v + (p32[c * d + c] * (1 / s[c])) / s[c] : v;
    });
  }

  /** Total centred sum of squares of state i (a given state or a difference): ||X_i - mean||_F^2. */
  centeredSumSquares(i: number): number {
    this.flush();
    const cs = this.colsums[i];
    let m2 = 0;
    for (let c = 0; c < cs.length; c++) m2 += cs[c] * cs[c];
    return Math.max(0, this.sumsqs[i] - m2 / this.processed);
  }

  /** Index of the derived state X_j - X_i. */
  differenceIndex(i: number, j: number): number {
    const k = this.diffPairs.findIndex(([a, b]) => a === i && b === j);
    if (k < 0) throw new Error(`${this.fn}: difference (${i}, ${j}) was not accumulated`);
    return this.given + k;
  }

  /** Shifted product sum (i, j) in data units, a fresh array: float32 route (unscaled) plus float64 route. */
  private product(i: number, j: number): Float64Array {
    this.flush();
    if (!this.productKeys.has(key(i, j))) throw new Error(`${this.fn}: product (${i}, ${j}) was not accumulated`);
    const p32 = this.prods32.get(key(i, j)), p64 = this.prods64.get(key(i, j));
    const di = this.dims[i], dj = this.dims[j], si = this.scales[i], sj = this.scales[j];
    const out = p64 ? Float64Array.from(p64) : new Float64Array(di * dj);
    if (p64 && this.blas && i === j) {
      // dsyrk summed the upper triangle only.
      for (let p = 0; p < di; p++) for (let q = p + 1; q < di; q++) out[q * di + p] = out[p * di + q];
    }
    if (p32) {
      for (let p = 0; p < di; p++) {
        const ip = 1 / si[p];
        for (let q = 0; q < dj; q++) out[p * dj + q] += (p32[p * dj + q] * ip) / sj[q];
      }
    }
    return out;
  }
}
