/**
 * What is measured on hidden states, one small file per metric: linearity (and its streaming and
 * all-pairs forms), residual linearity, per-token linearity, norms, cosine, angular distance,
 * the random baseline, and the original's normalize. How the least squares are solved lives in
 * lib/numerics.
 */
export { normalize } from "./normalize";
export { linearityScore, linearityScoreAsync } from "./linearity";
export { linearityScoreResidual } from "./residual-linearity";
export { tokenLinearity } from "./token-linearity";
export type { TokenLinearityOptions } from "./token-linearity";
export { LinearityAccumulator } from "./linearity-accumulator";
export type { PairScore, ScoreOptions } from "./linearity-accumulator";
export { linearityMatrix, linearityMatrixAsync, LinearityMatrixAccumulator } from "./linearity-matrix";
export type { LinearityMatrix, LinearityMatrixOptions } from "./linearity-matrix";
export { meanNorm, MeanNormAccumulator } from "./norms";
export { meanCosine, CosineAccumulator, COSINE_EPS } from "./cosine";
export { angularDistance } from "./angular-distance";
export type { AngularDistanceOptions } from "./angular-distance";
export { randomBaselineExpected, randomBaseline } from "./random-baseline";
export type { RandomBaseline } from "./random-baseline";
