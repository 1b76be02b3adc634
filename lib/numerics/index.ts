/**
 * How linear-algebra answers are computed: argument checks, seeded random numbers, streaming
 * moment (Gram) accumulation with its warm-up estimation, float64 factorizations and solves with
 * pinv semantics. lib/metrics says WHAT is measured on top of these. See docs/numerics.md.
 */
export { checkShape, checkFinite, checkChunk } from "./check";
export type { Dim } from "./check";
export type { StateChunk } from "./state-chunk";
export { GramAccumulator, DEFAULT_BLOCK_ROWS, NATIVE_BLOCK_ROWS, NATIVE_BLOCK_BYTES } from "./gram-accumulator";
export type { GramAccumulatorOptions, GramState, GramDifference } from "./gram-accumulator";
export type { ProductRoute, ProductRouteKind } from "./products";
export { FLOAT32_MAX_PREDICTED, needsFloat64 } from "./warmup";
export type { Route } from "./warmup";
export { factorGram, explainedSumSquares, solveMap, conditionEstimate } from "./solve";
export type { GramFactor, CholeskyFactor, EigenFactor, CutReport, FactorOptions } from "./solve";
export { UNIT_ROUNDOFF, NOISE_MULTIPLE, GRAM_ULPS, storageDtypeOf } from "./cut";
export type { StorageDtype, StoragePrecision } from "./cut";
export { leastSquaresMap } from "./least-squares";
export { AffineFitAccumulator } from "./affine-fit";
export type { AffineFit, AffineFitOptions } from "./affine-fit";
export { uniformRng, normalRng, fillNormal } from "./random";
