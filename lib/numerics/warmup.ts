/**
 * Warm-up decisions for {@link GramAccumulator}, kept apart from the accumulation itself: what is
 * decided here changes HOW the moments are formed (float32 matmuls or exact float64 products,
 * column scales), never what they estimate.
 */
import { correlationCondition } from "./solve";

/** How a state's products are formed: tfjs float32 matmuls, or exact float64 products in JavaScript. */
export type Route = "float32" | "float64";

/** float32 unit roundoff (2^-24). */
export const EPS32 = 2 ** -24;

/**
 * Largest predicted error, cond * EPS32 * sqrt(blockRows), for which the float32 route is kept:
 * cond <= ~310 at the default 256-row blocks (cond: of the correlation matrix, i.e. the squared
 * condition number of the column-equilibrated state). Calibrated in docs/numerics.md ("Accuracy"):
 * the float32 route's score error measured 1.2e-7 at cond 140 and 6.4e-7 at cond 1,200 (256-row
 * blocks), so this keeps it near 2e-7, well inside the 1e-6 contract.
 */
export const FLOAT32_MAX_PREDICTED = 3e-4;

/** True when a state with correlation-matrix condition estimate `cond` needs the float64 route. */
export function needsFloat64(cond: number, blockRows: number): boolean {
  return !(cond * EPS32 * Math.sqrt(blockRows) <= FLOAT32_MAX_PREDICTED);
}

/**
 * The route of one state from its centred Gram on the warm-up rows (float64 sums of float32
 * products: an estimate is enough). A column found dependent there (condition Infinity) sends
 * the state to the float64 route, where its rank is decided exactly.
 */
export function chooseRoute(C: Float64Array, d: number, blockRows: number, rawDiag: Float64Array): { route: Route; conditionEstimate: number } {
  // A tight threshold: only the decision is made here, never a rank.
  const cond = correlationCondition(C, d, rawDiag, Math.max(1e-14, 8 * Number.EPSILON * d));
  return { route: needsFloat64(cond, blockRows) ? "float64" : "float32", conditionEstimate: cond };
}

/**
 * Powers of two that bring each column of a state near magnitude 1 on the float32 route (exact
 * scaling: it changes no digit, only keeps products far from float32 overflow and underflow).
 * State i of the buffered rows, or with j >= 0 the difference X_j - X_i; shifts per state.
 */
export function columnScales(all: readonly Float32Array[], dims: readonly number[], shifts: readonly (Float32Array | Float64Array)[], n: number, i: number, j: number): Float32Array {
  const d = dims[i], x = all[i], y = j >= 0 ? all[j] : undefined;
  const si = shifts[i], sj = j >= 0 ? shifts[j] : undefined;
  const max = new Float64Array(d);
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < d; c++) {
      const a = x[t * d + c] - si[c];
      const v = y ? y[t * d + c] - sj![c] - a : a;
      const m = Math.abs(v);
      if (m > max[c]) max[c] = m; // NaN never wins; the scan reports it
    }
  }
  return Float32Array.from(max, (m) => (m > 0 && Number.isFinite(m) ? 2 ** -Math.floor(Math.log2(m)) : 1));
}
