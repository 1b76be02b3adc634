/** Tensor maths of linearity-lab: linearity scores, maps, per-token linearity, norms, cosines. */
export { checkShape, checkFinite, checkChunk } from "./check";
export type { Dim } from "./check";
export { normalize } from "./normalize";
export { linearityScore, linearityScoreAsync, linearityScoreResidual, leastSquaresMap, tokenLinearity } from "./linearity";
export type { TokenLinearityOptions } from "./linearity";
export { LinearityAccumulator } from "./pair";
export type { PairScore, ScoreOptions } from "./pair";
export { linearityMatrix, linearityMatrixAsync, LinearityMatrixAccumulator } from "./matrix";
export type { StateChunk, LinearityMatrix, LinearityMatrixOptions } from "./matrix";
export { meanNorm, meanCosine, angularDistance, MeanNormAccumulator, CosineAccumulator, COSINE_EPS } from "./similarity";
export type { AngularDistanceOptions } from "./similarity";
export { randomBaselineExpected, randomBaseline } from "./baseline";
export type { RandomBaseline } from "./baseline";
export { GramAccumulator, AUTO_WORKER_MIN_FLOPS, AUTO_WHITEN_MAX_PREDICTED, needsWhitening } from "./gram";
export { GramWorkerPool, workerCount } from "./gram-pool";
export type { GramAccumulatorOptions } from "./gram";
export { DEFAULT_RCOND } from "./solve";
export { uniformRng, normalRng, fillNormal } from "./random";
