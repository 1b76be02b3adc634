/** Hidden-state datasets: the project's format (writer + reader), the original layout, and the original's item reader. */
export * from "./types";
export { readManifest } from "./manifest";
export { HiddenStateWriter, type WriterInit } from "./writer";
export { HiddenStateDataset, type DatasetLayout, type StateChunk } from "./reader";
export { orderShards, type ShardEntry } from "./shard-list";
export { ConsecutiveOutputsDataset, type ConsecutiveChunk, type ConsecutiveItem } from "./consecutive";
export { openSamples, defaultSamplesDir, type Samples } from "./samples";
