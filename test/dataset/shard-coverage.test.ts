/**
 * mergedShards: what `linearity merge` checks before summing moments files of shard datasets
 * (test/cluster runs the real files; this covers every refusal and the partial merges of a tree).
 */
import { describe, expect, it } from "vitest";
import { mergedShards } from "../../lib/dataset/shard-coverage";
import type { MomentsShards } from "../../lib/io/moments-file";

const extraction = { model: { name: "m" }, extra: { extraction: { seq_len: 64 } }, shard: { count: 4, total_samples: 40 } };
const file = (name: string, indices: number[], count = 4, ex: Record<string, unknown> = extraction): { file: string; shards: MomentsShards } => ({
  file: name,
  shards: { count, indices, extraction: ex },
});

describe("mergedShards", () => {
  it("all shards once: the whole run (no shards recorded); files of whole datasets: nothing to check", () => {
    expect(mergedShards([file("a", [0]), file("b", [1]), file("c", [2]), file("d", [3])])).toBeUndefined();
    expect(mergedShards([{ file: "x" }, { file: "y" }])).toBeUndefined();
  });

  it("a tree: partial merges record their shards, and the top merge is the whole run", () => {
    const left = mergedShards([file("a", [0]), file("b", [1])], true)!;
    const right = mergedShards([file("c", [3]), file("d", [2])], true)!;
    expect(left).toEqual({ count: 4, indices: [0, 1], extraction });
    expect(right.indices).toEqual([2, 3]);
    expect(mergedShards([{ file: "l", shards: left }, { file: "r", shards: right }])).toBeUndefined();
  });

  it("refuses gaps (unless partial), duplicates, other extractions or splits, and mixes, naming them", () => {
    expect(() => mergedShards([file("a", [0]), file("c", [2])])).toThrow(
      "shards 1/4, 3/4 missing from the files given (2 files, 2 of 4 shards); merge every shard, or use --partial for one level of a tree of merges",
    );
    expect(() => mergedShards([file("a", [0, 1]), file("b", [1])], true)).toThrow("shard 1/4 is in both a and b; merge each shard once");
    expect(() => mergedShards([file("a", [0]), file("b", [1], 4, { ...extraction, extra: { extraction: { seq_len: 32 } } })], true)).toThrow(
      "b holds shards of another extraction than a: extra.extraction.seq_len 32 (a: 64)",
    );
    expect(() => mergedShards([file("a", [0]), file("b", [1], 5)], true)).toThrow("b holds shards of another extraction than a: count 5 (a: 4)");
    expect(() => mergedShards([file("a", [0]), { file: "w" }])).toThrow("w is not a moments file of shard datasets, but a is");
  });
});
