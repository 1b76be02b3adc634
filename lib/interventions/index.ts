/** Public API of the interventions: evaluation, block selection, removal and linear replacement (re-exports only). */
export { DEFAULT_EVAL_BATCH, DEFAULT_EVAL_TEXT, DEFAULT_EVAL_TOKENS, evaluateModel, evaluationIds, nextTokenLoss, textSourcesOverlap } from "./evaluate";
export type { EvalIds, EvaluateOptions, EvaluateResult, LossResult } from "./evaluate";
export { bestContiguousRun, indicesOfLargest, indicesOfSmallest, selectBlocks, SELECT_RULES } from "./select";
export type { BlockStats, Selection, SelectRule } from "./select";
export { BlockStatsAccumulator } from "./block-stats";
export { blockFunctions, fitAffine, fitLinearBlocks, forEachResidualBatch, measureBlocks, REPLACE_MODES } from "./replace";
export type { AffineBlock, BlockChange, FittedBlock, ReplaceMode } from "./replace";
export { writePrunedFolder } from "./pruned-folder";
export { calibrationSource, calibrationSources, LINEAR_BLOCKS_FIELD, PRUNE_FIELD, type PruneProvenance } from "./pruned-config";
export { DEFAULT_CALIBRATE_TEXT, DEFAULT_CALIBRATE_TOKENS, prune, type PruneOptions, type PruneResult } from "./prune";
export { sublayerLinearity, type SublayerLinearity } from "./sublayers";
export { blockReplacementSweep, readSweep, type SweepOptions, type SweepPoint, type SweepResult } from "./sweep";
