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
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkChunk } from "./check";
import { DEFAULT_RCOND, whiteningTransform } from "./solve";

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
   */
  whiten?: readonly boolean[];
  /** Rows buffered to estimate shifts and whitening transforms; default 2 * max d_model (whitening) or blockRows. */
  warmupRows?: number;
}

const key = (i: number, j: number) => `${i},${j}`;

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
  private readonly whiten: readonly boolean[];
  private readonly transforms: (Float32Array | undefined)[];
  private readonly whiteColsums: (Float64Array | undefined)[];
  private readonly warmupRows: number;
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
    this.whiteColsums = new Array(S).fill(undefined);
    const maxWhite = Math.max(0, ...opts.dims.filter((_, i) => this.whiten[i]));
    this.warmupRows = opts.warmupRows ?? Math.max(2 * maxWhite, this.blockRows);
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
    const S = this.dims.length;
    if (states.length !== S) {
      throw new Error(`${this.fn}: expected ${S} state buffers per chunk, got ${states.length}`);
    }
    const rows = checkChunk(this.fn, this.names[0], states[0].length, "d_model", this.dims[0]);
    for (let i = 1; i < S; i++) checkChunk(this.fn, this.names[i], states[i].length, "d_model", this.dims[i], rows);
    if (!this.ready) {
      // Buffer the first rows: shifts and whitening transforms are estimated from them.
      this.pending.push(states.map((x) => x.slice()));
      this.pendingRows += rows;
      if (this.pendingRows >= this.warmupRows) this.start();
      return;
    }
    this.addRows(states, rows);
  }

  private addRows(states: readonly Float32Array[], rows: number): void {
    for (let r0 = 0; r0 < rows; r0 += this.blockRows) {
      const r1 = Math.min(rows, r0 + this.blockRows);
      this.addBlock(states.map((x, i) => x.subarray(r0 * this.dims[i], r1 * this.dims[i])), r1 - r0);
    }
  }

  /** Fix shifts and transforms from the buffered rows, then process them. */
  private start(): void {
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
    this.pendingRows = 0;
    for (let i = 0; i < S; i++) {
      const d = this.dims[i];
      // The shift: the float32-rounded column mean of the buffered rows (non-finite values
      // are skipped here and reported by the scan).
      const m = new Float64Array(d);
      const x = all[i];
      for (let t = 0; t < n; t++) {
        for (let c = 0; c < d; c++) {
          const v = x[t * d + c];
          if (Number.isFinite(v)) m[c] += v;
        }
      }
      this.shifts[i] = Float32Array.from(m, (v) => v / n);
      if (this.whiten[i]) this.transforms[i] = this.estimateTransform(i, x, n);
    }
    this.ready = true;
    this.addRows(all, n);
  }

  /** Whitening transform from a float32 Gram of the shifted rows (an estimate is enough). */
  private estimateTransform(i: number, x: Float32Array, n: number): Float32Array {
    const d = this.dims[i], s = this.shifts[i]!;
    const G = new Float64Array(d * d);
    const sum = new Float64Array(d);
    for (let r0 = 0; r0 < n; r0 += this.blockRows) {
      const r = Math.min(n, r0 + this.blockRows) - r0;
      const xs = new Float32Array(r * d);
      for (let k = 0; k < r * d; k++) {
        const v = x[r0 * d + k] - s[k % d];
        xs[k] = Number.isFinite(v) ? v : 0;
        sum[k % d] += xs[k];
      }
      const g = tf.tidy(() => {
        const t = tf.tensor2d(xs, [r, d]);
        return tf.matMul(tf.transpose(t), t);
      });
      const v = g.dataSync();
      g.dispose();
      for (let k = 0; k < v.length; k++) G[k] += v[k];
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) G[a * d + b] -= (sum[a] * sum[b]) / n;
    return whiteningTransform(G, d, DEFAULT_RCOND);
  }

  /** Process buffered rows now (called before any result is read). */
  private flush(): void {
    if (!this.ready && this.pendingRows > 0) this.start();
    if (this.processed === 0) throw new Error(`${this.fn}: no rows were given`);
  }

  private addBlock(states: Float32Array[], r: number): void {
    const S = this.dims.length;
    // Shift, check and sum each state in float64.
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
    // float32 products on the block, accumulated in float64.
    if (this.prods.size > 0) {
      const t = shifted.map((x, i) => tf.tensor2d(x, [r, this.dims[i]]));
      const w = t.map((ti, i) => (this.transforms[i] ? this.whitenBlock(i, ti) : ti));
      for (const [i, partners] of this.left) {
        const ti = tf.transpose(w[i]) as tf.Tensor2D; // [d_i, r]
        for (const j of partners) {
          const p = tf.matMul(ti, j === i ? w[i] : t[j]);
          const v = p.dataSync() as Float32Array;
          p.dispose();
          const acc = this.prods.get(key(i, j))!;
          for (let k = 0; k < v.length; k++) acc[k] += v[k];
        }
        ti.dispose();
      }
      for (let i = 0; i < S; i++) {
        if (w[i] !== t[i]) w[i].dispose();
        t[i].dispose();
      }
    }
    this.processed += r;
  }

  /** x' = (x - s) T for one block, [r, d]; adds its column sums to the whitened sums. */
  private whitenBlock(i: number, t: tf.Tensor2D): tf.Tensor2D {
    const d = this.dims[i];
    const T = tf.tensor2d(this.transforms[i]!, [d, d]);
    const w = tf.matMul(t, T) as tf.Tensor2D;
    T.dispose();
    const v = w.dataSync();
    const cs = (this.whiteColsums[i] ??= new Float64Array(d));
    const r = v.length / d;
    for (let k = 0; k < r; k++) for (let c = 0; c < d; c++) cs[c] += v[k * d + c];
    return w;
  }

  /** The whitening transform of state i ([d, d] float32, x' = (x - shift) T), if any. */
  transform(i: number): Float32Array | undefined {
    this.flush();
    return this.transforms[i];
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
    const a = this.transforms[i] ? this.whiteColsums[i]! : this.colsums[i];
    const b = j === i ? a : this.colsums[j];
    const out = new Float64Array(di * dj);
    for (let p = 0; p < di; p++) {
      const ap = a[p] / n;
      for (let q = 0; q < dj; q++) out[p * dj + q] = raw[p * dj + q] - ap * b[q];
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
