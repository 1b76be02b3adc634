/**
 * Streaming second moments of several hidden states, in O(d_model^2) memory whatever the number
 * of tokens: the shifted cross-product sums X_a^T X_b, column sums and sums of squares behind
 * every whole-data score. States are addressed by key ("x", "y", "diff", ...), never by index.
 *
 * Numerics (see docs/numerics.md, "Accuracy"):
 * - Each state is shifted by a fixed vector s (the float32-rounded column mean of the first rows;
 *   shifted-rows.ts). Covariances are shift-invariant; the exact correction is applied in float64
 *   from the column sums of the shifted data, so a large mean never meets float32 cancellation.
 * - Derived states (`differences`: D = X_to - X_from) are formed per row in float64 (exact for
 *   float32 inputs) and usable as product partners: the residual score then needs no cancelling
 *   subtraction of two large Gram matrices.
 * - Products run on one of three routes (products.ts, one file each): with the native BLAS every
 *   "auto" state takes the native float64 route (dgemm / dsyrk on blocks of up to
 *   {@link NATIVE_BLOCK_ROWS} rows; one route for every conditioning, no warm-up). Without it (no
 *   addon, LINEARITY_NATIVE=0, option `native: false`) each left state takes the float32 route
 *   (tfjs, fast, well-conditioned states) or the JavaScript float64 route (exact), decided by:
 * - Warm-up: the first `warmupRows` rows go the float32 route while a copy is kept; then the
 *   float32 Gram of those rows decides each "auto" state's route (warmup.ts). A state that needs
 *   float64 has its sums so far replaced by float64 products of the kept rows. A block with a value
 *   outside float32's safe range takes the float64 route whatever the state's route.
 */
import { checkChunk } from "./check";
import { type StorageDtype } from "./cut";
import { type ProductRoute, centreProduct, float64Route, fullProduct } from "./products";
import { addUnscaled, float32Products, scaleBlock, unscaledDiagonal } from "./products-float32";
import { addRowSums, float32ColumnMeans, shiftRows, subtractRows } from "./shifted-rows";
import { type FactorOptions, type GramFactor, factorGram } from "./solve";
import { Route, chooseRoute, columnScales } from "./warmup";

/** A given state of a {@link GramAccumulator}: `add` takes its rows in the order the states are listed. */
export interface GramState<K extends string = string> {
  /** How products and results address it. */
  key: K;
  /** Its name in error messages (e.g. "x", "states[3]", a file name); default the key. */
  name?: string;
  /** d_model. */
  dim: number;
  /** Its route as the left operand of products: "auto" (default), "float32" or "float64". */
  route?: Route | "auto";
}

/** A derived state D = X_to - X_from of two given states of the same d_model. */
export interface GramDifference<K extends string = string> {
  key: K;
  from: K;
  to: K;
}

/** Options of {@link GramAccumulator}. */
export interface GramAccumulatorOptions<K extends string = string> {
  /** Function name used in error messages. */
  fn: string;
  states: readonly GramState<K>[];
  /** Derived difference states (their column sums and sums of squares are always accumulated). */
  differences?: readonly GramDifference<K>[];
  /** [a, b]: accumulate X_a^T X_b ([d_a, d_b]); a must be a given state, b any state. */
  products: readonly (readonly [K, K])[];
  /** Rows per float32 matmul block; default {@link DEFAULT_BLOCK_ROWS}. */
  blockRows?: number;
  /** Rows whose float32 Gram decides the "auto" routes; default 4 x the largest d_model of a left state. */
  warmupRows?: number;
  /**
   * Use the native BLAS when it is available (default true): every "auto" state then takes the
   * native float64 route. false: the tfjs / JavaScript routes only.
   */
  native?: boolean;
}

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

/** One block of rows after the scan: exact shifted float64 values of every state, and the scaled float32 copies when the float32 route runs. */
interface ScannedBlock {
  f64: Float64Array[];
  /** Undefined when no state takes the float32 route, or when a value left float32's safe range (the block goes float64). */
  f32: Float32Array[] | undefined;
}

/** Streaming float64 accumulator of shifted cross-products, column sums and sums of squares. */
export class GramAccumulator<K extends string = string> {
  readonly fn: string;
  readonly blockRows: number;
  // Internally state s is an index: the given states in order, then the differences.
  private readonly index = new Map<K, number>();
  private readonly names: string[];
  private readonly dims: number[];
  private readonly given: number;
  /** [from, to] per difference. */
  private readonly diffPairs: [number, number][];
  /** Per left state: its product partners. */
  private readonly left = new Map<number, number[]>();
  private readonly routes: (Route | "auto")[];
  private readonly conds: number[];
  private readonly warmupRows: number;
  /** The exact route: native BLAS or JavaScript. */
  private readonly route64: ProductRoute<Float64Array>;
  /** Rows per block: {@link blockRows}, or larger on an all-native accumulator. */
  private readonly chunkRows: number;
  private processed = 0;
  /** Per state: its shift, float32 values (a difference's: the exact float64 difference of two shifts). */
  private readonly shifts: Float64Array[] = [];
  /** Per state: power-of-two column scales of the float32 route (exact; undone in float64). */
  private readonly scales: Float32Array[] = [];
  private readonly colsums: Float64Array[];
  private readonly sumsqs: Float64Array;
  /** Product sums per left state and partner: float32-route sums in SCALED units, float64-route sums in data units (allocated on first use: a d_model = 4,096 product is 134 MB). */
  private readonly sums32 = new Map<number, Map<number, Float64Array>>();
  private readonly sums64 = new Map<number, Map<number, Float64Array>>();
  /** Reused float64 block buffers, one per state. */
  private buffers64: Float64Array[] = [];
  /** Rows given before the shift is fixed. */
  private pending: Float32Array[][] = [];
  private pendingRows = 0;
  private started = false;
  /** Copies of the rows processed during the warm-up (for a float64 redo). */
  private kept: { blocks: Float32Array[]; overflow: boolean }[] | undefined = [];
  private decided = false;

  constructor(opts: GramAccumulatorOptions<K>) {
    this.fn = opts.fn;
    const fn = this.fn;
    opts.states.forEach((s) => this.addKey(s.key));
    for (const d of opts.differences ?? []) this.addKey(d.key);
    this.given = opts.states.length;
    this.names = [...opts.states.map((s) => s.name ?? s.key), ...(opts.differences ?? []).map((d) => d.key)];
    /** Index of given state k; `what` says where it was named. */
    const givenIndex = (k: K, what: string): number => {
      const s = this.index.get(k);
      if (s === undefined || s >= this.given) throw new Error(`${fn}: ${what} names '${k}', which is not a given state`);
      return s;
    };
    this.diffPairs = (opts.differences ?? []).map((d) => [givenIndex(d.from, `difference '${d.key}'`), givenIndex(d.to, `difference '${d.key}'`)]);
    for (const [i, j] of this.diffPairs) {
      if (opts.states[i].dim !== opts.states[j].dim) throw new Error(`${fn}: difference of states with different d_model`);
    }
    this.dims = [...opts.states.map((s) => s.dim), ...this.diffPairs.map(([i]) => opts.states[i].dim)];
    this.blockRows = opts.blockRows ?? DEFAULT_BLOCK_ROWS;
    if (!(Number.isInteger(this.blockRows) && this.blockRows >= 1)) throw new Error(`${fn}: 'blockRows' must be a positive integer, got ${opts.blockRows}`);
    this.colsums = this.dims.map((d) => new Float64Array(d));
    this.sumsqs = new Float64Array(this.dims.length);
    this.routes = opts.states.map((s) => s.route ?? "auto");
    this.conds = new Array(this.given).fill(NaN);
    this.route64 = float64Route(opts.native !== false);
    for (const [a, b] of opts.products) {
      const i = givenIndex(a, `the left operand of product ('${a}', '${b}')`);
      const j = this.index.get(b);
      if (j === undefined) throw new Error(`${fn}: product ('${a}', '${b}') names '${b}', which is not a state`);
      if (!this.left.has(i)) this.left.set(i, []);
      this.left.get(i)!.push(j);
    }
    const leftDims = [...this.left.keys()].map((i) => this.dims[i]);
    this.warmupRows = opts.warmupRows ?? Math.max(this.blockRows, 4 * Math.max(0, ...leftDims));
    // Native: dgemm costs ~2x sgemm here and is exact on every state, so no warm-up decides.
    if (this.native) for (const i of this.left.keys()) if (this.routes[i] === "auto") this.routes[i] = "float64";
    if (![...this.left.keys()].some((i) => this.routes[i] === "auto")) this.decided = true;
    if (this.decided) this.kept = undefined;
    const allNative = this.native && !this.anyFloat32Left();
    const rowBytes = 8 * this.dims.reduce((a, b) => a + b, 0);
    this.chunkRows = allNative ? Math.max(this.blockRows, Math.min(NATIVE_BLOCK_ROWS, Math.floor(NATIVE_BLOCK_BYTES / rowBytes))) : this.blockRows;
  }

  private addKey(k: K): void {
    if (this.index.has(k)) throw new Error(`${this.fn}: state '${k}' is listed twice`);
    this.index.set(k, this.index.size);
  }

  /** Index of state `k`. */
  private at(k: K): number {
    const s = this.index.get(k);
    if (s === undefined) throw new Error(`${this.fn}: no state '${k}'`);
    return s;
  }

  /** True when the exact products run on the native BLAS. */
  get native(): boolean {
    return this.route64.kind === "native";
  }

  /** Rows given so far. */
  get rows(): number {
    return this.processed + this.pendingRows;
  }

  /** The name of state `k` in error messages. */
  nameOf(k: K): string {
    return this.names[this.at(k)];
  }

  /**
   * Add rows: `states[i]` is [rows, d_i] row-major float32 for the i-th given state, the same rows
   * for every state. Throws (naming the state, the absolute row and column) on NaN/Inf, and on a
   * wrong length.
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
    for (let i = 0; i < this.given; i++) this.shifts[i] = Float64Array.from(float32ColumnMeans(all[i], n, this.dims[i]));
    for (const [i, j] of this.diffPairs) this.shifts.push(Float64Array.from(this.shifts[j], (v, c) => v - this.shifts[i][c]));
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
    const scan = this.scan(blocks, r);
    const overflow = this.anyFloat32Left() && scan.f32 === undefined;
    this.products(scan, r);
    this.processed += r;
    if (!this.decided) {
      this.kept!.push({ blocks: blocks.map((x) => x.slice()), overflow });
      if (this.processed >= this.warmupRows) this.decide();
    }
  }

  /**
   * Shift and check every state of a block, add its float64 sums, and, when some left state takes
   * the float32 route, its scaled float32 copies.
   */
  private scan(blocks: readonly Float32Array[], r: number): ScannedBlock {
    const f64 = this.shifted64(blocks, r);
    f64.forEach((v, s) => (this.sumsqs[s] += addRowSums(v, r, this.colsums[s])));
    if (!this.anyFloat32Left()) return { f64, f32: undefined };
    const f32: Float32Array[] = [];
    for (let s = 0; s < f64.length; s++) {
      const x = scaleBlock(f64[s], r, this.scales[s]);
      if (x === undefined) return { f64, f32: undefined };
      f32.push(x);
    }
    return { f64, f32 };
  }

  /** Exact float64 shifted values of every state of a block (given states, then differences), [r, d_s] each, in reused buffers. */
  private shifted64(blocks: readonly Float32Array[], r: number): Float64Array[] {
    const buffer = (s: number) => {
      const n = r * this.dims[s];
      if (this.buffers64[s] === undefined || this.buffers64[s].length < n) this.buffers64[s] = new Float64Array(this.chunkRows * this.dims[s]);
      return this.buffers64[s].subarray(0, n);
    };
    const out: Float64Array[] = [];
    for (let i = 0; i < this.given; i++) {
      const v = buffer(i);
      shiftRows(blocks[i], this.shifts[i], 0, r, v, { fn: this.fn, name: this.names[i], firstRow: this.processed });
      out.push(v);
    }
    this.diffPairs.forEach(([i, j], p) => {
      const v = buffer(this.given + p);
      subtractRows(out[j], out[i], v.length, v);
      out.push(v);
    });
    return out;
  }

  /** True when some left state takes the float32 route (then blocks need scaled float32 copies). */
  private anyFloat32Left(): boolean {
    for (const i of this.left.keys()) if (this.routes[i] !== "float64") return true;
    return false;
  }

  /** The product sums of (i, j) in `sums`, created on first use. */
  private sumsOf(sums: Map<number, Map<number, Float64Array>>, i: number, j: number): Float64Array {
    let row = sums.get(i);
    if (!row) sums.set(i, (row = new Map()));
    let v = row.get(j);
    if (!v) row.set(j, (v = new Float64Array(this.dims[i] * this.dims[j])));
    return v;
  }

  /** Products of one scanned block on each left state's route. */
  private products(scan: ScannedBlock, r: number): void {
    for (const [i, partners] of this.left) {
      const f32 = this.routes[i] !== "float64" ? scan.f32 : undefined;
      for (const j of partners) {
        if (f32) float32Products.add(f32[i], this.dims[i], f32[j], this.dims[j], r, this.sumsOf(this.sums32, i, j), i === j);
        else this.route64.add(scan.f64[i], this.dims[i], scan.f64[j], this.dims[j], r, this.sumsOf(this.sums64, i, j), i === j);
      }
    }
  }

  /** Route decision at the end of the warm-up: redo in float64 what must be. */
  private decide(): void {
    this.decided = true;
    const redo: number[] = [];
    for (const i of this.left.keys()) {
      if (this.routes[i] !== "auto") continue;
      const { route, conditionEstimate } = chooseRoute(this.centred(i, i), this.dims[i], this.blockRows, this.shiftedDiagonal(i));
      this.conds[i] = conditionEstimate;
      this.routes[i] = route;
      if (route === "float64") redo.push(i);
    }
    const kept = this.kept!;
    this.kept = undefined;
    if (redo.length === 0) return;
    for (const i of redo) this.sums32.delete(i);
    // Replay the kept rows through the float64 route for those states only (sums are already in).
    for (const { blocks, overflow } of kept) {
      if (overflow) continue; // already summed on the float64 route
      const r = blocks[0].length / this.dims[0];
      const f64 = this.shifted64(blocks, r);
      for (const i of redo) for (const j of this.left.get(i)!) this.route64.add(f64[i], this.dims[i], f64[j], this.dims[j], r, this.sumsOf(this.sums64, i, j), i === j);
    }
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

  /** The route given state k took as a left operand ("auto" is resolved at the end of the warm-up). */
  route(k: K): Route {
    this.flush();
    const r = this.routes[this.at(k)];
    return r === "auto" ? "float32" : r;
  }

  /**
   * Condition-number estimate of state k's correlation matrix on the warm-up rows (NaN when the
   * route was not "auto"; Infinity when columns looked dependent there).
   */
  conditionEstimate(k: K): number {
    this.flush();
    return this.conds[this.at(k)];
  }

  /** The shift of state k (zeros before any row was added). */
  shift(k: K): Float64Array {
    const s = this.at(k);
    return this.shifts[s] ?? new Float64Array(this.dims[s]);
  }

  /** Column means of state k in float64, [d_k]. */
  mean(k: K): Float64Array {
    this.flush();
    const s = this.at(k), cs = this.colsums[s], n = this.processed;
    const sh = this.shift(k);
    return Float64Array.from(cs, (v, c) => sh[c] + v / n);
  }

  /**
   * The factorized centred Gram of state k, with the default precision cut for values stored as
   * `storage` (default float32; the raw sums of squares come from the means) or `rcond`.
   */
  factor(k: K, opts: { rcond?: number; storage?: StorageDtype; native?: boolean } = {}): GramFactor {
    const i = this.at(k), C = this.centered(k, k), d = this.dims[i], n = this.processed, mean = this.mean(k);
    const sumSquares = Float64Array.from(mean, (m, c) => C[c * d + c] + n * m * m);
    // The float32 route's sums carry ~2^-24 sqrt(blockRows) relative error; the float64 route's floor is cut.ts's model.
    const gramRoundoff = this.route(k) === "float32" ? 2 ** -24 * Math.sqrt(this.blockRows) : undefined;
    const fo: FactorOptions = { rcond: opts.rcond, precision: { dtype: opts.storage ?? "float32", rows: n, sumSquares, gramRoundoff }, rawDiag: this.shiftedDiagonal(i), native: opts.native };
    return factorGram(C, d, fo);
  }

  /** Centred cross-product sum (X_a - mean)^T (X_b - mean), [d_a, d_b] float64. */
  centered(a: K, b: K): Float64Array {
    return this.centred(this.at(a), this.at(b));
  }

  private centred(i: number, j: number): Float64Array {
    const out = this.product(i, j); // a fresh copy: centred in place (134 MB at d_model 4,096)
    centreProduct(out, this.colsums[i], this.colsums[j], this.processed);
    return out;
  }

  /** Plain (un-centred) cross-product sum X_a^T X_b, [d_a, d_b] float64, rebuilt from the shift. */
  uncentered(a: K, b: K): Float64Array {
    const i = this.at(a), j = this.at(b);
    const out = this.product(i, j); // a fresh copy, completed in place
    const di = this.dims[i], dj = this.dims[j], n = this.processed;
    const si = this.shift(a), sj = this.shift(b), ca = this.colsums[i], cb = this.colsums[j];
    for (let p = 0; p < di; p++) {
      for (let q = 0; q < dj; q++) {
        out[p * dj + q] = out[p * dj + q] + ca[p] * sj[q] + si[p] * cb[q] + n * si[p] * sj[q];
      }
    }
    return out;
  }

  /** Diagonal of the shifted (not centred) Gram of state i: the scale centring cancels against. */
  private shiftedDiagonal(i: number): Float64Array {
    // The diagonal of product(i, i), read without assembling the whole matrix.
    this.flush();
    if (!this.left.get(i)?.includes(i)) throw new Error(`${this.fn}: product ('${this.names[i]}', '${this.names[i]}') was not accumulated`);
    const d = this.dims[i], p32 = this.sums32.get(i)?.get(i), p64 = this.sums64.get(i)?.get(i), s = this.scales[i];
    return Float64Array.from({ length: d }, (_, c) => {
      const v = p64 ? p64[c * d + c] : 0;
      return p32 ? v + unscaledDiagonal(p32, s, c) : v;
    });
  }

  /** Total centred sum of squares of state k (a given state or a difference): ||X_k - mean||_F^2. */
  centeredSumSquares(k: K): number {
    this.flush();
    const s = this.at(k), cs = this.colsums[s];
    let m2 = 0;
    for (let c = 0; c < cs.length; c++) m2 += cs[c] * cs[c];
    return Math.max(0, this.sumsqs[s] - m2 / this.processed);
  }

  /** Shifted product sum (i, j) in data units, a fresh array: float64-route sums plus float32-route sums (unscaled). */
  private product(i: number, j: number): Float64Array {
    this.flush();
    if (!this.left.get(i)?.includes(j)) throw new Error(`${this.fn}: product ('${this.names[i]}', '${this.names[j]}') was not accumulated`);
    const p32 = this.sums32.get(i)?.get(j), p64 = this.sums64.get(i)?.get(j);
    const out = p64 ? fullProduct(p64, this.dims[i], i === j, this.route64.upperOnly) : new Float64Array(this.dims[i] * this.dims[j]);
    if (p32) addUnscaled(out, p32, this.scales[i], this.scales[j]);
    return out;
  }
}
