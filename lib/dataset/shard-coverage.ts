/**
 * Which shards of one extraction a moments file sums, and the checks `linearity merge` makes
 * before summing moments files of shards: the same extraction, no shard twice, none missing
 * (unless a partial merge, one level of a tree of merges, is asked for). Every refusal names the
 * files and shards involved.
 */
import type { MomentsShards } from "../io/moments-file";
import type { HiddenStateDataset } from "./reader";
import { differences, sharedFields } from "./shard-list";

/**
 * What a moments file of `ds` records: for one shard dataset its index and shared fields;
 * undefined for a whole dataset (or a list of all shards, which is the whole run). An unfinished
 * shard is refused: its moments would silently lack sequences.
 */
export function datasetShards(ds: HiddenStateDataset): MomentsShards | undefined {
  const m = ds.manifest;
  if (m?.shard === undefined) return undefined;
  if (!m.complete) {
    throw new Error(`${ds.dir} (shard ${m.shard.index}/${m.shard.count}) is incomplete: ${m.n_samples} of its ${m.shard.n_samples} sequences written; rerun its task (the same command) to finish it`);
  }
  return { count: m.shard.count, indices: [m.shard.index], extraction: sharedFields(m) };
}

/**
 * Check the shards of moments files to be merged and return what the sum holds: undefined when
 * they are not shards' files or together hold every shard (the whole run); with `partial`, the
 * union of a subset (an inner merge of a tree). Refuses a mix of shard and other files, files of
 * different extractions or splits, a shard held twice, and (without `partial`) missing shards.
 */
export function mergedShards(files: readonly { file: string; shards?: MomentsShards }[], partial = false): MomentsShards | undefined {
  const sharded = files.filter((f) => f.shards !== undefined);
  if (sharded.length === 0) return undefined;
  const plain = files.find((f) => f.shards === undefined);
  if (plain !== undefined) {
    throw new Error(`${plain.file} is not a moments file of shard datasets, but ${sharded[0].file} is; merge the shards of one extraction only`);
  }
  const first = sharded[0];
  const count = first.shards!.count;
  const owner = new Map<number, string>();
  for (const f of sharded) {
    const sh = f.shards!;
    const diffs = differences({ count, ...first.shards!.extraction }, { count: sh.count, ...sh.extraction }, "", first.file);
    if (diffs.length > 0) throw new Error(`${f.file} holds shards of another extraction than ${first.file}: ${diffs.join(", ")}`);
    for (const i of sh.indices) {
      const seen = owner.get(i);
      if (seen !== undefined) throw new Error(`shard ${i}/${count} is in both ${seen} and ${f.file}; merge each shard once`);
      owner.set(i, f.file);
    }
  }
  const indices = [...owner.keys()].sort((a, b) => a - b);
  if (indices.length === count) return undefined;
  if (!partial) {
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !owner.has(i));
    const shown = missing.length > 8 ? [...missing.slice(0, 8).map((i) => `${i}/${count}`), `... (${missing.length} in all)`] : missing.map((i) => `${i}/${count}`);
    throw new Error(
      `shard${missing.length > 1 ? "s" : ""} ${shown.join(", ")} missing from the files given (${files.length} files, ${indices.length} of ${count} shards); ` +
        "merge every shard, or use --partial for one level of a tree of merges",
    );
  }
  return { count, indices, extraction: first.shards!.extraction };
}
