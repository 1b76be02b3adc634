/**
 * Exact distances to the two nearest other rows of x [tokens, d_model], for TwoNN.
 *
 * Two stages, because neither alone is both fast and exact:
 * 1. Candidates. Squared distances |a|^2 + |b|^2 - 2 a.b over all pairs, the a.b from float32
 *    tfjs matmuls of square blocks of rows (each unordered block pair once: symmetry halves the
 *    work), on the column-centred data (distances do not change under a shift, and centring
 *    keeps |a|^2 and |b|^2 from dwarfing the distance). Each row keeps its `candidates` nearest.
 * 2. Exact distances. The candidates' squared distances are recomputed in float64 from the
 *    differences of the ORIGINAL float32 rows (exact up to float64 rounding: no cancellation), and
 *    the two smallest are r1 <= r2. A row whose result could still be wrong is rescanned in
 *    full in float64: when the k-th candidate's float32 distance minus the worst-case float32
 *    error (see `errorBound`) is not above the exact r2, a row outside the candidates might be
 *    nearer, and it is looked for.
 *
 * The float32 form alone is not enough: it moved the TwoNN dimension of a shipped state by
 * 1.4e-3 relative (issue 11), because near neighbours' distances are small differences of large
 * numbers.
 *
 * The error bound assumes IEEE float32 products with float32 or wider accumulation (wasm, cpu,
 * tfjs-node). A GPU backend running float32 matmuls as TF32 would break it.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkChunk, checkFinite } from "../numerics/check";

/** float32 unit roundoff. */
const EPS32 = 2 ** -24;

/** Options of the exact nearest-neighbour search: rows per block, float32 candidates rescanned in float64, the caller's name for errors. */
export interface TwoNearestOptions {
  /** Rows per matmul block (a block pair's [block, block] float32 product is in memory at once). Default 1024. */
  blockRows?: number;
  /** Candidates kept per row before the exact recomputation. Default 8. */
  candidates?: number;
  /** Function name for error messages. */
  fn?: string;
}

/** Each token's distances to its first and second nearest neighbours (`r1`, `r2`, `[tokens]` each), and how many rows were rescanned in float64. */
export interface TwoNearest {
  /** [tokens] distance to the nearest other row (0 for a row with a duplicate). */
  r1: Float64Array;
  /** [tokens] distance to the second nearest other row. */
  r2: Float64Array;
  /** Rows whose candidates could not prove the result and were rescanned in full. */
  rescanned: number;
  /** Mean over rows of ||x_i - mean||, in float64: the length scale of the data (LLM-Microscope's TwoNN divides by it). */
  meanCentredNorm: number;
}

/** Squared float64 distance between rows i and j of x [tokens, d]. */
function exactSquared(x: Float32Array, d: number, i: number, j: number): number {
  let s = 0;
  const a = i * d, b = j * d;
  for (let c = 0; c < d; c++) {
    const diff = x[a + c] - x[b + c];
    s += diff * diff;
  }
  return s;
}

/**
 * Worst-case error of a float32 squared distance between rows of norms at most na, nb (centred):
 * the dot product (gamma_d |a||b|, doubled in -2 a.b) plus the rounding of the centred values
 * (each coordinate within EPS32 of its exact value, moving the distance by at most
 * EPS32 (|a| + |b|), so the squared distance by at most 2 EPS32 (|a| + |b|)^2), with a factor 2
 * of margin.
 */
function errorBound(d: number, na: number, nb: number): number {
  const gamma = (d * EPS32) / (1 - d * EPS32);
  return 2 * (2 * gamma * na * nb + 2 * EPS32 * (na + nb) ** 2);
}

/** The two nearest other rows of x [tokens, d_model], exactly (see the file comment). */
export function twoNearestNeighbours(x: Float32Array, dModel: number, opts: TwoNearestOptions = {}): TwoNearest {
  const fn = opts.fn ?? "twoNearestNeighbours";
  const d = dModel;
  const n = checkChunk(fn, "x", x.length, "d_model", d);
  if (n < 3) throw new Error(`${fn}: 'x' needs at least 3 rows for two neighbours each, got ${n}`);
  checkFinite(fn, "x", x, d);
  const k = Math.min(opts.candidates ?? 8, n - 1);
  const block = Math.max(1, opts.blockRows ?? 1024);

  // Centre the columns (float64 mean), scale by a power of two that brings the largest centred
  // value near 1 (exact, and TwoNN does not depend on scale: states scaled by 1e30 squared to
  // Inf in float32, by 1e-30 to 0), round to float32 for the matmuls.
  const mean = new Float64Array(d);
  for (let t = 0; t < n; t++) for (let c = 0; c < d; c++) mean[c] += x[t * d + c];
  for (let c = 0; c < d; c++) mean[c] /= n;
  let maxAbs = 0;
  for (let t = 0; t < n; t++) for (let c = 0; c < d; c++) maxAbs = Math.max(maxAbs, Math.abs(x[t * d + c] - mean[c]));
  const scale = maxAbs > 0 ? 2 ** -Math.round(Math.log2(maxAbs)) : 1;
  const centred = new Float32Array(n * d);
  const sq = new Float64Array(n); // squared norms of the float32 centred rows
  let maxNorm = 0;
  let normSum = 0; // of the float64 centred rows' norms
  for (let t = 0; t < n; t++) {
    let s = 0, s64 = 0;
    for (let c = 0; c < d; c++) {
      const exact = x[t * d + c] - mean[c];
      const v = Math.fround(exact * scale);
      centred[t * d + c] = v;
      s += v * v;
      s64 += exact * exact;
    }
    sq[t] = s;
    maxNorm = Math.max(maxNorm, Math.sqrt(s));
    normSum += Math.sqrt(s64);
  }

  // Stage 1: the k nearest candidates per row by float32 distances, sorted ascending.
  const candDist = new Float64Array(n * k).fill(Infinity);
  const candIdx = new Int32Array(n * k).fill(-1);
  const worst = new Float64Array(n).fill(Infinity); // the k-th candidate's distance per row
  const offer = (row: number, j: number, dist: number): void => {
    const base = row * k;
    let p = k - 1;
    while (p > 0 && candDist[base + p - 1] > dist) {
      candDist[base + p] = candDist[base + p - 1];
      candIdx[base + p] = candIdx[base + p - 1];
      p--;
    }
    candDist[base + p] = dist;
    candIdx[base + p] = j;
    worst[row] = candDist[base + k - 1];
  };
  const blocks = Math.ceil(n / block);
  for (let bi = 0; bi < blocks; bi++) {
    const i0 = bi * block, i1 = Math.min(n, i0 + block);
    const left = tf.tensor2d(centred.subarray(i0 * d, i1 * d), [i1 - i0, d]);
    try {
      for (let bj = bi; bj < blocks; bj++) {
        const j0 = bj * block, j1 = Math.min(n, j0 + block);
        // [block_i, block_j] dot products (the right operand transposed explicitly).
        const dots = tf.tidy(() => {
          const right = tf.tensor2d(centred.subarray(j0 * d, j1 * d), [j1 - j0, d]);
          return tf.matMul(left, tf.transpose(right));
        });
        const g = dots.dataSync() as Float32Array;
        dots.dispose();
        const w = j1 - j0;
        for (let i = i0; i < i1; i++) {
          const row = (i - i0) * w - j0;
          const start = bi === bj ? i + 1 : j0;
          const sqi = sq[i];
          for (let j = start; j < j1; j++) {
            const dist = sqi + sq[j] - 2 * g[row + j];
            // Most pairs are far: test the k-th candidate before calling offer.
            if (dist < worst[i]) offer(i, j, dist);
            if (dist < worst[j]) offer(j, i, dist);
          }
        }
      }
    } finally {
      left.dispose();
    }
  }

  // Stage 2: exact distances of the candidates; rescan rows the candidates cannot prove.
  const r1 = new Float64Array(n), r2 = new Float64Array(n);
  let rescanned = 0;
  for (let i = 0; i < n; i++) {
    let a = Infinity, b = Infinity; // two smallest exact squared distances
    const take = (s: number): void => {
      if (s < a) {
        b = a;
        a = s;
      } else if (s < b) b = s;
    };
    for (let p = 0; p < k; p++) {
      const j = candIdx[i * k + p];
      if (j >= 0) take(exactSquared(x, d, i, j));
    }
    // Rows not among the candidates have float32 distance >= the k-th candidate's (scaled back:
    // the candidates' distances are of the scaled rows, a and b of the original ones).
    const floor = k < n - 1 ? (candDist[i * k + k - 1] - errorBound(d, Math.sqrt(sq[i]), maxNorm)) / (scale * scale) : Infinity;
    if (a > 0 && !(floor > b)) {
      rescanned++;
      a = Infinity;
      b = Infinity;
      for (let j = 0; j < n; j++) if (j !== i) take(exactSquared(x, d, i, j));
    }
    r1[i] = Math.sqrt(a);
    r2[i] = Math.sqrt(b);
  }
  return { r1, r2, rescanned, meanCentredNorm: normSum / n };
}
