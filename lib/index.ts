/**
 * linearity-lab's public API: what a notebook or a user script needs, one import:
 *   import { openSamples, linearityScore, lineChart } from "../dist/lib";
 *
 * Curated, grouped as the docs list it (each group names its page). Every name here is a
 * promise: notebooks import them (test/notebooks/imports.test.ts checks each notebook's names
 * resolve here). Internals (model families and their tensor ops, the least-squares kernels,
 * file-format helpers, CLI plumbing) are not re-exported; tests and tools import them from
 * their folder (`lib/models`, `lib/numerics`, `lib/io`, ...). The notebook harness is tooling
 * and lives outside lib/ (tools/notebook-harness/).
 *
 * Adding an export: put it in the group of the page that documents it, with TSDoc at its
 * declaration (test/index.test.ts checks both).
 */

// ---- Set-up (docs/notebooks.md) ---------------------------------------------------------------
// Choose and initialise the TensorFlow.js backend; call before any tensor maths.
export { initBackend, type BackendName, type BackendOptions } from "./backend";
// The notebooks' shared start: backend, the sample dataset, every state as `[tokens, d_model]`.
export { openSamples, defaultSamplesDir, type Samples } from "./dataset/samples";

// ---- Linearity, norms, cosines, baselines (docs/numerics.md "API") -----------------------------
export { normalize } from "./metrics/normalize";
export { leastSquaresMap } from "./numerics/least-squares";
export { linearityScore } from "./metrics/linearity";
export { linearityScoreResidual } from "./metrics/residual-linearity";
export { tokenLinearity, type TokenLinearityOptions } from "./metrics/token-linearity";
export { meanNorm, MeanNormAccumulator } from "./metrics/norms";
export { meanCosine, CosineAccumulator } from "./metrics/cosine";
export { angularDistance, type AngularDistanceOptions } from "./metrics/angular-distance";
export { randomBaseline, randomBaselineExpected, type RandomBaseline } from "./metrics/random-baseline";
export { linearityMatrix, LinearityMatrixAccumulator, type LinearityMatrix, type LinearityMatrixOptions } from "./metrics/linearity-matrix";
export { LinearityAccumulator, type PairScore, type ScoreOptions } from "./metrics/linearity-accumulator";
// A score with its rank, cut, chance floor, adjusted score, out-of-sample score (cv) and jackknife
// interval (docs/numerics.md "Scores with their floor, out-of-sample score and interval").
export { linearityStats, type LinearityStatsOptions } from "./metrics/linearity-stats-tensor";
export { pairStats, Z95, type LinearityStats, type JackknifeInterval, type PairStatsOptions } from "./metrics/linearity-stats";
export { datasetMoments, consecutivePairStats, DEFAULT_MOMENT_UNITS, type DatasetMomentsOptions, type ConsecutivePairStats } from "./analysis/dataset-moments";
export { tokenGroups, type TokenGroups } from "./dataset/token-groups";
// Mergeable per-group float64 moments and their file (docs/dataset-format.md "Moments files").
export { MomentAccumulator, type MomentAccumulatorOptions } from "./numerics/moment-accumulator";
export { mergeMomentSets, totalOf, type MomentSet, type MomentState, type UnitMoments, type UnitRule } from "./numerics/moment-set";
export { readMomentsFile, writeMomentsFile, isMomentsFile, MOMENTS_FORMAT, MOMENTS_VERSION } from "./io/moments-file";
// Streaming engine under the accumulators, and its chunk type / options (docs/numerics.md "Numerics").
export { GramAccumulator, type GramAccumulatorOptions, type GramState, type GramDifference } from "./numerics/gram-accumulator";
export type { CutReport } from "./numerics/solve";
export { UNIT_ROUNDOFF, NOISE_MULTIPLE, GRAM_ULPS, type StorageDtype } from "./numerics/cut";
export type { Route } from "./numerics/warmup";
export type { StateChunk } from "./numerics/state-chunk";
// Which BLAS the float64 products run on (the optional OpenBLAS addon, or JavaScript).
export { nativeBlasStatus } from "./native/blas";

// ---- The microscope: anisotropy, intrinsic dimension (docs/microscope.md) ----------------------
export { anisotropy, AnisotropyAccumulator, type AnisotropyResult } from "./metrics/anisotropy";
export { topEigenvalue, type TopEigenvalue } from "./metrics/top-eigenvalue";
export {
  intrinsicDimension, twoNNFromDistances, twoNNFit, defaultKeepFraction, DEFAULT_KEEP_FRACTION, LLM_MICROSCOPE_KEEP_FRACTION, TWONN_ESTIMATORS,
  type TwoNNOptions, type TwoNNResult, type TwoNNFit, type TwoNNFitOptions, type TwoNNEstimator,
} from "./metrics/intrinsic-dimension";
export { UndefinedMetricError, valueOrUndefined } from "./metrics/undefined-metric";
export { twoNearestNeighbours, type TwoNearest, type TwoNearestOptions } from "./metrics/neighbours";

// ---- Logit lens and per-token maps (docs/microscope.md) -----------------------------------------
export { loadLensModel, lensSequences, summarizeLens, logitLens, type LensModel, type SequenceLens, type LensSummary, type LogitLensOptions } from "./lens/lens";
export { tokenMaps, type TokenMaps, type TokenMapsOptions } from "./analysis/token-maps";

// ---- Hidden-state datasets (docs/dataset-format.md) --------------------------------------------
export { HiddenStateDataset, type DatasetLayout } from "./dataset/reader";
export { ConsecutiveOutputsDataset, type ConsecutiveChunk, type ConsecutiveItem } from "./dataset/consecutive";
export { HiddenStateWriter, type WriterInit } from "./dataset/writer";
export { readManifest } from "./dataset/manifest";
export type { DatasetModelInfo, Manifest, SampleInfo, SampleInput, ShardInfo, StoredDtype } from "./dataset/types";
// .npy and safetensors files (docs/dataset-format.md "File formats").
export { readNpy, readNpyFloat32, readNpyInt32, writeNpy, type NpyArray, type NpyData, type NpyDtype } from "./io/npy";
export { readSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsTensor } from "./io/safetensors";

// ---- Text, corpus, tokenizers (docs/extraction.md) ---------------------------------------------
export { loadTextSource, type TextDocument } from "./extract/source";
export { loadBrown, brownSplit, baseTag, tagsForOffsets, BROWN_GENRES, type BrownDocument, type TaggedSpan } from "./corpus/brown";
export { loadTokenizer } from "./tokenizer/load";
export { tokenPieces } from "./tokenizer/pieces";
export type { Encoded, TextTokenizer } from "./tokenizer/types";

// ---- Models (docs/models.md "API") --------------------------------------------------------------
export { openModel, type OpenedModel, type OpenModelOptions } from "./models/open";
export type { MemoryPlan, RunMode } from "./models/stream/plan";
export { loadModel } from "./models/load";
export { saveCheckpoint, type SaveDtype } from "./models/save";
export { SUPPORTED_MODEL_TYPES, type DecoderConfig, type Family } from "./models/config";
export { BLOCK_POINTS, HOOK_POINTS, type BlockOverride, type BlockPoint, type ForwardOptions, type ForwardOutput, type HookPoint, type Model, type StateDict } from "./models/types";

// ---- Extraction (docs/extraction.md "Library API") ---------------------------------------------
export { extract, type ExtractDtype, type ExtractOptions, type ExtractProgress, type ExtractResult } from "./extract/extract";
export { cutSequences, type CutOptions, type Sequence } from "./extract/sequences";
export { batchStates } from "./extract/batch";

// ---- Probes (docs/probes.md "API") --------------------------------------------------------------
export { splitTrainTest, type SplitOptions, type TrainTestSplit } from "./probes/split";
export { probeData, disposeProbeData, compareWithClosedForm, type ProbeComparisonRow } from "./probes/experiment";
export { LinearProbe, MlpProbe, predict, type Probe, type ProbeInitOptions } from "./probes/probe";
export { trainProbe, probeMse, type EpochStats, type ProbeData, type ProbeHistory, type StepProgress, type TrainProbeOptions } from "./probes/train";
export { probeScore } from "./probes/score";
export { fitAffineMap, applyAffineMap, type AffineMap } from "./probes/closed-form";
export { labelProbe, type LabelProbeResult } from "./probes/labels";
export { mulberry32, permutation } from "./probes/random";
export { AdamW, type AdamWOptions } from "./optim/adamw";

// ---- Analysis over states and checkpoints (docs/probes.md, docs/notebooks.md) ------------------
export { groupMeans, indicesWhere, type GroupMean } from "./analysis/groups";
export { checkpointLinearity, listCheckpointDirs, type CheckpointLinearity, type CheckpointLinearityOptions } from "./analysis/checkpoint-linearity";
export { consecutiveStats, type ConsecutiveStats, type ConsecutiveStatsOptions, type StateStats, type StateMetric } from "./analysis/consecutive-stats";

// ---- Interventions: block removal and replacement (docs/interventions.md "Library API") -------
export { evaluationIds, nextTokenLoss, evaluateModel, type EvalIds, type EvaluateOptions, type EvaluateResult, type LossResult } from "./interventions/evaluate";
export { selectBlocks, SELECT_RULES, type BlockStats, type Selection, type SelectRule } from "./interventions/select";
export { BlockStatsAccumulator } from "./interventions/block-stats";
export { measureBlocks, fitLinearBlocks, blockFunctions, REPLACE_MODES, type AffineBlock, type BlockChange, type FittedBlock, type ReplaceMode } from "./interventions/replace";
export { sublayerLinearity, type SublayerLinearity } from "./interventions/sublayers";
export { writePrunedFolder } from "./interventions/pruned-folder";
export { prune, type PruneOptions, type PruneResult } from "./interventions/prune";
export { blockReplacementSweep, readSweep, type SweepOptions, type SweepPoint, type SweepResult } from "./interventions/sweep";

// ---- Training (docs/training.md): the learning curve a `linearity train` run writes ------------
export { readCurve, type CurveRow } from "./train/curve";

// ---- Plots and tables (docs/notebooks.md "Plots") -----------------------------------------------
export { lineChart, lineFigure, histogram, histogramFigure, heatmap, heatmapFigure, barChart, barFigure, type AxisTitles, type BarChartSpec, type HeatmapSpec, type HistogramSpec, type LineChartSpec, type LineSeries } from "./plot/charts";
export { plotFigure, figureBundle, PLOTLY_MIME, type FigureOptions } from "./plot/bundle";
export { showTable, tableBundle, type DataFrameLike, type TableInput, type TableOptions } from "./plot/table";
export { tokenHeatmap, tokenHeatmapBundle, type TokenHeatmapRow, type TokenHeatmapSpec } from "./plot/token-heatmap";
export { setPlotlyEmbedding, resetPlotSession, type PlotlyEmbedding } from "./plot/session";
export type { PlotlyFigure, PlotlyTrace } from "./plot/figure";
export type { MimeBundle } from "./plot/display";
