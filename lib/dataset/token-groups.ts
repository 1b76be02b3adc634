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
  /** The document id of each group, when `from` is "documents". */
  names?: string[];
}

/** The groups of the first `maxTokens` tokens (default all) of `ds`. */
export function tokenGroups(ds: Pick<HiddenStateDataset, "samples" | "nTokens">, maxTokens = ds.nTokens): TokenGroups {
  const total = Math.min(maxTokens, ds.nTokens);
  const ids = new Int32Array(total);
  const bySource = ds.samples.every((s) => typeof s.source === "string" && s.source !== "");
  const number = new Map<string, number>();
  ds.samples.forEach((s, k) => {
    let g = k;
    if (bySource) {
      if (!number.has(s.source!)) number.set(s.source!, number.size);
      g = number.get(s.source!)!;
    }
    const end = Math.min(total, s.offset + s.nTokens);
    for (let t = s.offset; t < end; t++) ids[t] = g;
  });
  const used = new Set<number>();
  for (const g of ids) used.add(g);
  return bySource
    ? { ids, count: used.size, from: "documents", names: [...number.keys()] }
    : { ids, count: used.size, from: "sequences" };
}
