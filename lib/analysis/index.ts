/**
 * Studies built from the metrics: per-state summaries of a dataset, scores of matrix files,
 * linearity across training checkpoints, per-label means of per-token values.
 */
export { consecutiveStats } from "./consecutive-stats";
export type { StateStats, ConsecutiveStats, ConsecutiveStatsOptions } from "./consecutive-stats";
export { scoreFiles, openMatrixFile } from "./score-files";
export type { FileScore, ScoreFilesOptions } from "./score-files";
export { checkpointLinearity, listCheckpointDirs } from "./checkpoint-linearity";
export type { CheckpointLinearity, CheckpointLinearityOptions } from "./checkpoint-linearity";
export { groupMeans, indicesWhere } from "./groups";
export type { GroupMean } from "./groups";
