/**
 * Streaming second moments of several hidden states, in O(d_model^2) memory whatever the number
 * of tokens. This is the only O(tokens * d_model^2) work in the package.
 *
 * Numerics (see docs/tensor.md):
 * - Each state is shifted by a fixed vector s (the float32-rounded column mean of the first block
 *   of rows seen) before any product. Covariances are shift-invariant, and the exact correction
 *   is applied later in float64 from the column sums of the shifted data, so a large mean never
 *   meets float32 cancellation (the Gram of un-shifted data loses everything when
 *   |mean| >> spread).
 * - Products Xi^T Xj are float32 tfjs matmuls over blocks of `blockRows` rows (explicit transpose:
 *   a transposeA matmul is ~20x slower on wasm), summed across blocks into Float64Array.
 * - Column sums, sums of squares, and optional ||x_j - x_i||^2 sums are plain float64 loops over
 *   the float32 values (cheap, exact up to float64 rounding).
 * - The shift (and any whitening transform) is fixed once, from the first rows, by warmup.ts.
 * - Worker threads (async path only: addAsync / finishAsync): the main thread still shifts,
 *   checks and sums every row, and hands the float32 block products to worker threads, each with
 *   its own tfjs instance and float64 partial sums; finishAsync adds them up. Same float32 block
 *   products as in-thread, summed in another order.
 */
import * as tf from "@tensorflow/tfjs-core";
import { BlockProducts, ProductPlan, productKey } from "./block-products";
import { checkChunk } from "./check";
import { GramWorkerPool, workerCount, workerCountForced } from "./gram-pool";
import { warmUp } from "./warmup";

/** Options of {@link GramAccumulator}. */
export interface GramAccumulatorOptions {
  /** Function name used in error messages. */
  fn: string;
  /** Argument name per state, for error messages (e.g. "x", "y" or "states[3]"). */
  names: readonly string[];
  /** d_model of each state. */
  dims: readonly number[];
  /** Pairs (i, j), i <= j: accumulate the cross-product Xi^T Xj ([d_i, d_j]). */
  products: readonly (readonly [number, number])[];
  /** Pairs (i, j) with d_i = d_j: accumulate sums of (x_j - x_i) and ||x_j - x_i||^2. */
  differences?: readonly (readonly [number, number])[];
  /** Rows per float32 matmul block (float32 error grows with it); default 1024. */
  blockRows?: number;
  /**
   * Per state: whiten it (x' = (x - s) T, T from the first `warmupRows` rows) before it enters
   * products as the LEFT operand (and both sides of its own Gram). Right operands j != i stay raw.
   * "auto": decide from the warm-up estimate (see {@link needsWhitening}); false (default): never.
   */
  whiten?: readonly (boolean | "auto")[];
  /** Rows buffered to estimate shifts and whitening transforms (their first rows); default the largest of blockRows, 2 d_model per whitened state, 4 d_model per "auto" state. */
  warmupRows?: number;
  /**
   * Worker threads for the products on the async path (addAsync): 0 or 1 = in-thread; default
   * (undefined): env LINEARITY_WORKERS, else DEFAULT_WORKERS (1: in-thread); an unforced count >= 2 waits until the work is large enough to pay
   * for starting them (wasm backend only). The sync `add` always works in-thread.
   */
  workers?: number;
}

const key = productKey;

/**
 * Below this many flops of products (rows x flops per row, known so far) the default ("auto")
 * worker count keeps the work in-thread: starting a worker costs about a core-second.
 */
export const AUTO_WORKER_MIN_FLOPS = 8e9;

/** Let pending worker messages in (a resolved promise would not). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Streaming float64 accumulator of shifted cross-products, column sums and sums of squares. */
export class GramAccumulator {
  readonly fn: string;
  readonly names: readonly string[];
  readonly dims: readonly number[];
  readonly blockRows: number;
  private processed = 0;
  /** Rows given so far (including rows buffered for the warm-up). */
  get rows(): number {
    return this.processed + this.pendingRows;
  }
  private readonly shifts: (Float32Array | undefined)[];
  private readonly colsums: Float64Array[];
  private readonly sumsqs: Float64Array; // per state: sum over rows of ||x - s||^2
  private readonly prods = new Map<string, Float64Array>();
  private readonly diffs = new Map<string, { colsum: Float64Array; sumsq: number }>();
  private readonly left: Map<number, number[]>; // i -> partners j of products (i, j)
  private readonly whiten: readonly (boolean | "auto")[];
  private readonly conds: number[];
  private readonly transforms: (Float32Array | undefined)[];
  private readonly warmupRows: number;
  private readonly workersOption: number | undefined;
  private local: BlockProducts | undefined;
  private pool: GramWorkerPool | undefined;
  private poolDecided = false;
  private pending: Float32Array[][] = [];
  private pendingRows = 0;
  private ready = false;

  constructor(opts: GramAccumulatorOptions) {
    this.fn = opts.fn;
    this.names = opts.names;
    this.dims = opts.dims;
    this.blockRows = opts.blockRows ?? 1024;
    const S = opts.dims.length;
    this.shifts = new Array(S).fill(undefined);
    this.colsums = opts.dims.map((d) => new Float64Array(d));
    this.sumsqs = new Float64Array(S);
    this.left = new Map();
    this.whiten = opts.whiten ?? new Array(S).fill(false);
    this.transforms = new Array(S).fill(undefined);
    this.conds = new Array(S).fill(NaN);
    this.workersOption = opts.workers;
    // Warm-up rows: 2 d_model for a forced transform; 4 d_model for "auto", so that the sample
    // condition number (inflated by at most ((1 + sqrt(d/rows)) / (1 - sqrt(d/rows)))^2 = 9x at
    // 4 d_model rows, Marchenko-Pastur edges) does not whiten well-conditioned data needlessly.
    const warm = opts.dims.map((d, i) => (this.whiten[i] === true ? 2 * d : this.whiten[i] === "auto" ? 4 * d : 0));
    this.warmupRows = opts.warmupRows ?? Math.max(...warm, this.blockRows);
    for (const [i, j] of opts.products) {
      if (!(i <= j && j < S)) throw new Error(`${this.fn}: bad product pair (${i}, ${j})`);
      this.prods.set(key(i, j), new Float64Array(opts.dims[i] * opts.dims[j]));
      if (!this.left.has(i)) this.left.set(i, []);
      this.left.get(i)!.push(j);
    }
    for (const [i, j] of opts.differences ?? []) {
      if (opts.dims[i] !== opts.dims[j]) throw new Error(`${this.fn}: difference of states with different d_model`);
      this.diffs.set(key(i, j), { colsum: new Float64Array(opts.dims[i]), sumsq: 0 });
    }
  }

  /**
   * Add rows: `states[i]` is [rows, d_i] row-major float32, the same rows for every state.
   * Throws (naming the state, the absolute row and column) on NaN/Inf, and on a wrong length.
   */
  add(states: readonly Float32Array[]): void {
    const rows = this.checkStates(states);
    if (!this.ready) {
      if (!this.buffer(states, rows)) return;
      this.addRows(this.start(), this.takePendingRows());
      return;
    }
    this.addRows(states, rows);
  }

  /**
   * As {@link add}, with the products on worker threads when the `workers` option (or its
   * default) says so. Await each call before the next; call {@link finishAsync} (or
   * {@link dispose}) at the end. On any error the workers are stopped.
   */
  async addAsync(states: readonly Float32Array[]): Promise<void> {
    try {
      const rows = this.checkStates(states);
      if (!this.ready) {
        if (!this.buffer(states, rows)) return;
        await this.addRowsAsync(this.start(), this.takePendingRows());
        return;
      }
      await this.addRowsAsync(states, rows);
    } catch (e) {
      await this.dispose();
      throw e;
    }
  }

  /** Collect the workers' partial sums (if any) into this accumulator and stop the workers. */
  async finishAsync(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    this.workerBlocksDone += pool.blocksSent;
    try {
      for (const sums of await pool.collect()) {
        for (const [k, v] of sums) {
          const acc = this.prods.get(k)!;
          for (let q = 0; q < v.length; q++) acc[q] += v[q];
        }
      }
    } finally {
      this.pool = undefined;
    }
  }

  /** Stop any worker threads and free tensors (the partial sums of the workers are lost). */
  async dispose(): Promise<void> {
    this.local?.dispose();
    const pool = this.pool;
    this.pool = undefined;
    this.workerBlocksDone += pool?.blocksSent ?? 0;
    await pool?.terminate();
  }

  /** Worker threads now running (0 in-thread): for tests and diagnostics. */
  get activeWorkers(): number {
    return this.pool?.size ?? 0;
  }

  /** Blocks whose products ran on worker threads, over this accumulator's life. */
  get workerBlocks(): number {
    return this.workerBlocksDone + (this.pool?.blocksSent ?? 0);
  }
  private workerBlocksDone = 0;

  /** The running worker pool, if any (tests simulate crashes through it). */
  get workerPool(): GramWorkerPool | undefined {
    return this.pool;
  }

  private checkStates(states: readonly Float32Array[]): number {
    const S = this.dims.length;
    if (states.length !== S) {
      throw new Error(`${this.fn}: expected ${S} state buffers per chunk, got ${states.length}`);
    }
    const rows = checkChunk(this.fn, this.names[0], states[0].length, "d_model", this.dims[0]);
    for (let i = 1; i < S; i++) checkChunk(this.fn, this.names[i], states[i].length, "d_model", this.dims[i], rows);
    return rows;
  }

  /** Buffer warm-up rows (shifts and transforms are estimated from them); true once there are enough. */
  private buffer(states: readonly Float32Array[], rows: number): boolean {
    this.pending.push(states.map((x) => x.slice()));
    this.pendingRows += rows;
    return this.pendingRows >= this.warmupRows;
  }

  private takePendingRows(): number {
    const n = this.pendingRows;
    this.pendingRows = 0;
    return n;
  }

  private addRows(states: readonly Float32Array[], rows: number): void {
    try {
      for (let r0 = 0; r0 < rows; r0 += this.blockRows) {
        const r1 = Math.min(rows, r0 + this.blockRows);
        this.addBlock(states.map((x, i) => x.subarray(r0 * this.dims[i], r1 * this.dims[i])), r1 - r0);
      }
    } finally {
      this.local?.dispose();
    }
  }

  private async addRowsAsync(states: readonly Float32Array[], rows: number): Promise<void> {
    try {
      for (let r0 = 0; r0 < rows; r0 += this.blockRows) {
        const r1 = Math.min(rows, r0 + this.blockRows);
        const block = states.map((x, i) => x.subarray(r0 * this.dims[i], r1 * this.dims[i]));
        const shifted = this.scanBlock(block, r1 - r0);
        const pool = this.poolFor(rows - r0);
        // A forced worker count waits for the workers; the default computes in-thread while they start.
        if (pool && (pool.anyReady || workerCountForced(this.workersOption))) {
          await pool.submit(this.productInputs(shifted), r1 - r0);
        } else {
          this.blockProducts(shifted, r1 - r0);
          // Workers starting up: let their "ready" messages in between blocks.
          if (pool) await yieldToEventLoop();
        }
        this.processed += r1 - r0;
      }
    } finally {
      this.local?.dispose();
    }
  }

  /** What the block products need: plain data, sendable to workers. */
  private plan(): ProductPlan {
    return {
      dims: [...this.dims],
      left: [...this.left].map(([i, partners]) => [i, [...partners]] as [number, number[]]),
      transforms: this.transforms.map((t) => t ?? null),
    };
  }

  /** Shifted states the products use (null for the others). */
  private productInputs(shifted: Float32Array[]): (Float32Array | null)[] {
    const used = new Set<number>();
    for (const [i, partners] of this.left) {
      used.add(i);
      for (const j of partners) used.add(j);
    }
    return shifted.map((x, i) => (used.has(i) ? x : null));
  }

  /**
   * The worker pool for the async path, started on first need: when the worker count is forced
   * (>= 2), or by default once the products of the rows known so far are worth
   * {@link AUTO_WORKER_MIN_FLOPS} on the wasm backend.
   */
  private poolFor(upcomingRows: number): GramWorkerPool | undefined {
    if (this.pool || this.poolDecided || this.left.size === 0) return this.pool;
    const n = workerCount(this.workersOption);
    if (n < 2) {
      this.poolDecided = true;
      return undefined;
    }
    if (!workerCountForced(this.workersOption)) {
      if (tf.getBackend() !== "wasm") {
        this.poolDecided = true;
        return undefined;
      }
      let flopsPerRow = 0;
      for (const [i, partners] of this.left) {
        if (this.transforms[i]) flopsPerRow += 2 * this.dims[i] * this.dims[i];
        for (const j of partners) flopsPerRow += 2 * this.dims[i] * this.dims[j];
      }
      if ((this.processed + upcomingRows) * flopsPerRow < AUTO_WORKER_MIN_FLOPS) return undefined;
    }
    this.poolDecided = true;
    this.pool = new GramWorkerPool(n, this.plan(), this.fn);
    return this.pool;
  }

  /** Fix shifts and transforms from the buffered rows; returns the buffered rows (pendingRows of them). */
  private start(): Float32Array[] {
    const S = this.dims.length;
    const n = this.pendingRows;
    const all = this.dims.map((d, i) => {
      const buf = new Float32Array(n * d);
      let o = 0;
      for (const chunk of this.pending) {
        buf.set(chunk[i], o);
        o += chunk[i].length;
      }
      return buf;
    });
    this.pending = [];
    for (let i = 0; i < S; i++) {
      const w = warmUp(all[i], n, this.dims[i], {
        whiten: this.whiten[i],
        blockRows: this.blockRows,
        estimateRows: Math.min(n, this.warmupRows),
      });
      this.shifts[i] = w.shift;
      this.conds[i] = w.conditionEstimate;
      this.transforms[i] = w.transform;
    }
    this.ready = true;
    return all;
  }

  /** Process buffered rows now (called before any result is read). */
  private flush(): void {
    if (this.pool) throw new Error(`${this.fn}: worker threads hold part of the sums; await finishAsync() (or use the async result) first`);
    if (!this.ready && this.pendingRows > 0) this.addRows(this.start(), this.takePendingRows());
    if (this.processed === 0) throw new Error(`${this.fn}: no rows were given`);
  }

  private addBlock(states: Float32Array[], r: number): void {
    this.blockProducts(this.scanBlock(states, r), r);
    this.processed += r;
  }

  /** In-thread float32 products of one shifted block, into this accumulator's float64 sums. */
  private blockProducts(shifted: Float32Array[], r: number): void {
    if (this.prods.size === 0) return;
    this.local ??= new BlockProducts(this.plan(), this.prods);
    this.local.add(shifted, r);
  }

  /** Shift, check and sum each state of a block in float64; differences too. Returns the shifted block. */
  private scanBlock(states: Float32Array[], r: number): Float32Array[] {
    const shifted = states.map((x, i) => this.scan(i, x, r));
    for (const [k, acc] of this.diffs) {
      const [i, j] = k.split(",").map(Number);
      const a = shifted[i], b = shifted[j], cs = acc.colsum, d = this.dims[i];
      let ss = 0;
      for (let t = 0; t < r; t++) {
        const o = t * d;
        for (let c = 0; c < d; c++) {
          const v = b[o + c] - a[o + c];
          cs[c] += v;
          ss += v * v;
        }
      }
      acc.sumsq += ss;
    }
    return shifted;
  }

  /** The whitening transform of state i ([d, d] float32, x' = (x - shift) T), if any. */
  transform(i: number): Float32Array | undefined {
    this.flush();
    return this.transforms[i];
  }

  /** True when state i enters its products whitened (decided at the end of the warm-up). */
  whitened(i: number): boolean {
    this.flush();
    return this.transforms[i] !== undefined;
  }

  /**
   * Condition-number estimate of state i's correlation matrix on the warm-up rows (NaN when the
   * state was never considered for whitening; Infinity when columns looked dependent there).
   */
  conditionEstimate(i: number): number {
    this.flush();
    return this.conds[i];
  }

  /** Shift state i's block by its fixed shift (set on first use), check finiteness, sum. */
  private scan(i: number, x: Float32Array, r: number): Float32Array {
    const d = this.dims[i];
    const s = this.shifts[i]!;
    const out = new Float32Array(r * d);
    const cs = this.colsums[i];
    let ss = 0;
    for (let t = 0; t < r; t++) {
      const o = t * d;
      for (let c = 0; c < d; c++) {
        const xv = x[o + c];
        if (xv - xv !== 0) {
          throw new Error(`${this.fn}: '${this.names[i]}' has ${xv} at row ${this.processed + t}, column ${c}`);
        }
        out[o + c] = xv - s[c];
        const v = out[o + c];
        cs[c] += v;
        ss += v * v;
      }
    }
    this.sumsqs[i] += ss;
    return out;
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
   * Centred cross-product sum (X_i - mean)^T (X_j - mean), [d_i, d_j] float64. When state i is
   * whitened, X_i stands for its whitened version (and X_j too when j = i).
   */
  centered(i: number, j: number): Float64Array {
    const raw = this.product(i, j);
    const di = this.dims[i], dj = this.dims[j], n = this.processed;
    const a = this.transforms[i] ? this.whitenedColsums(i) : this.colsums[i];
    const b = j === i ? a : this.colsums[j];
    const out = new Float64Array(di * dj);
    for (let p = 0; p < di; p++) {
      const ap = a[p] / n;
      for (let q = 0; q < dj; q++) out[p * dj + q] = raw[p * dj + q] - ap * b[q];
    }
    return out;
  }

  /**
   * Column sums of the whitened state i: (sum of shifted rows) T in float64 (the sum of x' = (x - s) T
   * over rows, without reading every whitened block back from tfjs).
   */
  private whitenedColsums(i: number): Float64Array {
    const d = this.dims[i], T = this.transforms[i]!, cs = this.colsums[i];
    const out = new Float64Array(d);
    for (let a = 0; a < d; a++) {
      const v = cs[a];
      for (let c = 0; c < d; c++) out[c] += v * T[a * d + c];
    }
    return out;
  }

  /** Plain (un-centred) cross-product sum X_i^T X_j, [d_i, d_j] float64, rebuilt from the shift. */
  uncentered(i: number, j: number): Float64Array {
    if (this.transforms[i]) throw new Error(`${this.fn}: un-centred products of a whitened state are not kept`);
    const raw = this.product(i, j);
    const di = this.dims[i], dj = this.dims[j], n = this.processed;
    const si = this.shift(i), sj = this.shift(j), a = this.colsums[i], b = this.colsums[j];
    const out = new Float64Array(di * dj);
    for (let p = 0; p < di; p++) {
      for (let q = 0; q < dj; q++) {
        out[p * dj + q] = raw[p * dj + q] + a[p] * sj[q] + si[p] * b[q] + n * si[p] * sj[q];
      }
    }
    return out;
  }

  /** Diagonal of the shifted (not centred) Gram of state i: the scale centring cancels against. */
  shiftedDiagonal(i: number): Float64Array {
    const raw = this.product(i, i), d = this.dims[i];
    return Float64Array.from({ length: d }, (_, c) => raw[c * d + c]);
  }

  /** Total centred sum of squares of state i: ||X_i - mean||_F^2. */
  centeredSumSquares(i: number): number {
    this.flush();
    const cs = this.colsums[i];
    let m2 = 0;
    for (let c = 0; c < cs.length; c++) m2 += cs[c] * cs[c];
    return this.sumsqs[i] - m2 / this.processed;
  }

  /** ||(X_j - X_i) - mean||_F^2 for a registered difference pair. */
  centeredDifferenceSumSquares(i: number, j: number): number {
    this.flush();
    const acc = this.diffs.get(key(i, j));
    if (!acc) throw new Error(`${this.fn}: difference (${i}, ${j}) was not accumulated`);
    let m2 = 0;
    for (let c = 0; c < acc.colsum.length; c++) m2 += acc.colsum[c] * acc.colsum[c];
    return acc.sumsq - m2 / this.processed;
  }

  private product(i: number, j: number): Float64Array {
    this.flush();
    const p = this.prods.get(key(i, j));
    if (!p) throw new Error(`${this.fn}: product (${i}, ${j}) was not accumulated`);
    return p;
  }
}
