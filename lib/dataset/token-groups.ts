/**
 * The group (document) of every token of a dataset, for out-of-sample scores and the jackknife
 * (lib/metrics/linearity-stats.ts): tokens of one document must fall in one fold.
 *
 * Extraction records, for every sequence (sample), the id of the document it was cut from
 * (`source` in manifest.json; sequences never span two documents), so the document of a token is
 * its sequence's. Documents are numbered 0, 1, ... in order of first appearance. A dataset without
 * document ids (written by other tools, or the original block{b}/s{i} layout) falls back to its
 * sequences as groups, and says so (`from: "sequences"`): sequences of one document then land in
 * different folds, so cv is optimistic there.
 *
 * A shard dataset (`extract --shard I/N`) numbers its groups as the unsharded run does: its
 * documents by the run's numbers (manifest `shard.documents`), its sequences from the run's
 * sequence number (`shard.first_sample`), so that per-group moments of the N shards merge into
 * the run's groups, and cv folds and jackknife units are the same as the unsharded run's.
 */
import type { HiddenStateDataset } from "./reader";

/** Group ids per token and where they came from. */
export interface TokenGroups {
  /** [tokens] group id of each token, 0-based. */
  ids: Int32Array;
  /** Distinct groups. */
  count: number;
  /** "documents" (the manifest's per-sequence `source`) or "sequences" (the fallback). */
  from: "documents" | "sequences";
  /**
   * The document id of each group, when `from` is "documents" (indexed by group id; in a shard
   * dataset, whose groups are numbered as in the whole run, only its own groups' entries are set).
   */
  names?: string[];
}

/** The groups of the first `maxTokens` tokens (default all) of `ds`. */
export function tokenGroups(ds: Pick<HiddenStateDataset, "samples" | "nTokens"> & { manifest?: HiddenStateDataset["manifest"] }, maxTokens = ds.nTokens): TokenGroups {
  const total = Math.min(maxTokens, ds.nTokens);
  const ids = new Int32Array(total);
  const bySource = ds.samples.every((s) => typeof s.source === "string" && s.source !== "");
  // A shard dataset: the run's numbers of its documents (in their order of first appearance here), its first sequence's.
  const shard = ds.manifest?.shard;
  const runNumber = (local: number): number => (shard?.documents !== undefined ? shard.documents[local] : local);
  const number = new Map<string, number>();
  ds.samples.forEach((s, k) => {
    let g = k + (shard?.first_sample ?? 0);
    if (bySource) {
      if (!number.has(s.source!)) number.set(s.source!, runNumber(number.size));
      g = number.get(s.source!)!;
    }
    const end = Math.min(total, s.offset + s.nTokens);
    for (let t = s.offset; t < end; t++) ids[t] = g;
  });
  const used = new Set<number>();
  for (const g of ids) used.add(g);
  const names: string[] = [];
  for (const [name, g] of number) names[g] = name;
  return bySource ? { ids, count: used.size, from: "documents", names } : { ids, count: used.size, from: "sequences" };
}
