/**
 * What is measured on hidden states, one small file per metric: linearity (and its streaming and
 * all-pairs forms), residual linearity, per-token linearity, norms, cosine, angular distance,
 * the random baseline, the original's normalize, anisotropy and TwoNN intrinsic dimension. How the least squares are solved lives in
 * lib/numerics.
 */
export { normalize } from "./normalize";
export { linearityScore } from "./linearity";
export { linearityScoreResidual } from "./residual-linearity";
export { tokenLinearity } from "./token-linearity";
export type { TokenLinearityOptions } from "./token-linearity";
export { LinearityAccumulator } from "./linearity-accumulator";
export type { PairScore, ScoreOptions } from "./linearity-accumulator";
export { linearityMatrix, LinearityMatrixAccumulator } from "./linearity-matrix";
export type { LinearityMatrix, LinearityMatrixOptions } from "./linearity-matrix";
export { meanNorm, MeanNormAccumulator } from "./norms";
export { meanCosine, CosineAccumulator, COSINE_EPS } from "./cosine";
export { angularDistance } from "./angular-distance";
export type { AngularDistanceOptions } from "./angular-distance";
export { randomBaselineExpected, randomBaseline } from "./random-baseline";
export type { RandomBaseline } from "./random-baseline";
export { anisotropy, AnisotropyAccumulator } from "./anisotropy";
export type { AnisotropyResult } from "./anisotropy";
export {
  intrinsicDimension, twoNNFromDistances, twoNNFit, defaultKeepFraction, DEFAULT_KEEP_FRACTION, LLM_MICROSCOPE_KEEP_FRACTION, TWONN_ESTIMATORS,
} from "./intrinsic-dimension";
export type { TwoNNOptions, TwoNNResult, TwoNNFit, TwoNNFitOptions, TwoNNEstimator } from "./intrinsic-dimension";
export { UndefinedMetricError, valueOrUndefined } from "./undefined-metric";
export { twoNearestNeighbours } from "./neighbours";
export type { TwoNearest, TwoNearestOptions } from "./neighbours";
export { topEigenvalue } from "./top-eigenvalue";
export type { TopEigenvalue } from "./top-eigenvalue";
