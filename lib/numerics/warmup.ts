/**
 * Warm-up estimation for {@link GramAccumulator}: from the first rows of one state, the fixed
 * shift every later row is centred by, and (when asked) a whitening transform with the condition
 * estimate that decides whether it is used. Kept apart from the accumulation itself: what is
 * estimated here only changes HOW the moments are formed, never what they estimate.
 */
import * as tf from "@tensorflow/tfjs-core";
import { DEFAULT_RCOND, conditionEstimate, factorGram, whiteningFromFactor } from "./solve";

/** float32 unit roundoff (2^-24). */
export const EPS32 = 2 ** -24;

/**
 * Largest predicted relative error, cond * EPS32 * sqrt(blockRows), for which "auto" keeps the plain
 * (unwhitened) route: cond <= ~1,050 at the default 1024-row blocks. Calibrated in docs/tensor.md
 * ("Adaptive whitening"): the measured absolute score error of the plain route stayed below
 * max(1e-7, ~2.3e-5 x this prediction) (cond 1 to 1e7, d 16 and 48), so 2e-3 keeps it within
 * ~1e-7, the level of the whitened route's own error.
 */
export const AUTO_WHITEN_MAX_PREDICTED = 2e-3;

/**
 * The "auto" whitening rule: whiten when the condition-number estimate of the equilibrated warm-up
 * Gram predicts a float32 error above {@link AUTO_WHITEN_MAX_PREDICTED} (Infinity, i.e. columns
 * found dependent on the warm-up rows, always whitens).
 */
export function needsWhitening(cond: number, blockRows: number): boolean {
  return !(cond * EPS32 * Math.sqrt(blockRows) <= AUTO_WHITEN_MAX_PREDICTED);
}

/** What the warm-up fixes for one state. */
export interface WarmUp {
  /** Subtracted from every row before any product: the float32-rounded column mean of the warm-up rows, [d_model]. */
  shift: Float32Array;
  /** Whitening transform [d_model, d_model] (x' = (x - shift) T), when used. */
  transform?: Float32Array;
  /** Condition-number estimate of the warm-up correlation matrix (NaN when whitening was not considered). */
  conditionEstimate: number;
}

/**
 * Estimate the shift (and, for `whiten` true or "auto", the whitening transform) of one state
 * from its buffered rows x [n, d_model]; only the first `estimateRows` rows enter the Gram
 * estimate (a first chunk can hold every token, and a Gram of all of them would cost as much
 * as the products themselves). Non-finite values are skipped here; the scan reports them.
 */
export function warmUp(
  x: Float32Array,
  n: number,
  d: number,
  opts: { whiten: boolean | "auto"; blockRows: number; estimateRows: number },
): WarmUp {
  const m = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < d; c++) {
      const v = x[t * d + c];
      if (Number.isFinite(v)) m[c] += v;
    }
  }
  const shift = Float32Array.from(m, (v) => v / n);
  if (opts.whiten === false) return { shift, conditionEstimate: NaN };
  // One float64 factor of the warm-up Gram serves the decision and the transform.
  const f = factorGram(estimateCenteredGram(x, opts.estimateRows, d, shift, opts.blockRows), d, DEFAULT_RCOND);
  const cond = conditionEstimate(f);
  const use = opts.whiten === true || needsWhitening(cond, opts.blockRows);
  return { shift, conditionEstimate: cond, transform: use ? whiteningFromFactor(f) : undefined };
}

/** Centred Gram of the first n rows of x (float32 block products summed in float64; an estimate is enough). */
function estimateCenteredGram(x: Float32Array, n: number, d: number, s: Float32Array, blockRows: number): Float64Array {
  const G = new Float64Array(d * d);
  const sum = new Float64Array(d);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    const r = Math.min(n, r0 + blockRows) - r0;
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
  return G;
}
