/**
 * A list of shard datasets read as one dataset: the N datasets `linearity extract --shard I/N`
 * wrote for I = 0..N-1 hold, in shard order, exactly the sequences of the unsharded extraction.
 * Before they are joined they must be that: the shards of one extraction (same model, states,
 * dtype and extraction settings), each index once, none missing, each complete, their sequence
 * ranges tiling the run. Every refusal names the folders involved.
 */
import type { Manifest, ShardInfo } from "./types";

/** A dataset folder and its (already validated) manifest. */
export interface ShardEntry {
  dir: string;
  manifest: Manifest;
}

/** "1/3" */
function label(sh: ShardInfo): string {
  return `${sh.index}/${sh.count}`;
}

/**
 * The fields in which two JSON values differ, as `path value (other: value)` strings, recursing
 * into objects so that a message names the one setting that differs rather than a whole object.
 */
export function differences(a: unknown, b: unknown, at: string, otherName: string): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differences(a[k], b[k], at === "" ? k : `${at}.${k}`, otherName));
  }
  const show = (v: unknown): string => (v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${at} ${show(b)} (${otherName}: ${show(a)})`];
}

/** The manifest fields every shard of one extraction shares (all but its own samples and share). */
export function sharedFields(m: Manifest): Record<string, unknown> {
  return {
    model: m.model,
    n_layers: m.n_layers,
    n_states: m.n_states,
    state_names: m.state_names,
    d_model: m.d_model,
    dtype: m.dtype,
    extra: m.extra,
    shard: { count: m.shard?.count, total_samples: m.shard?.total_samples, total_tokens: m.shard?.total_tokens },
  };
}

/**
 * Check that `entries` are all N shards of one extraction, each once and complete, and return them
 * in shard order (index 0 first), whatever order they were given in.
 */
export function orderShards(entries: readonly ShardEntry[]): ShardEntry[] {
  if (entries.length === 0) throw new Error("no dataset given");
  for (const e of entries) {
    if (e.manifest.shard === undefined) {
      throw new Error(
        `${e.dir}: not a shard dataset (its manifest has no 'shard'; 'linearity extract --shard I/N' writes one); open it on its own, not in a list`,
      );
    }
  }
  const first = entries[0];
  for (const e of entries.slice(1)) {
    const diffs = differences(sharedFields(first.manifest), sharedFields(e.manifest), "", first.dir);
    if (diffs.length > 0) {
      throw new Error(`${e.dir} is not a shard of the same extraction as ${first.dir}: ${diffs.join(", ")}`);
    }
  }
  const count = first.manifest.shard!.count;
  const byIndex = new Map<number, ShardEntry>();
  for (const e of entries) {
    const sh = e.manifest.shard!;
    const seen = byIndex.get(sh.index);
    if (seen !== undefined) throw new Error(`shard ${label(sh)} given twice: ${seen.dir} and ${e.dir}`);
    byIndex.set(sh.index, e);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    const given = [...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${count} ${byIndex.get(i)!.dir}`);
    throw new Error(
      `shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")} missing (given: ${given.join(", ")}); ` +
        "give every shard of the extraction",
    );
  }
  const ordered = Array.from({ length: count }, (_, i) => byIndex.get(i)!);
  let nextSample = 0;
  let tokens = 0;
  for (const e of ordered) {
    const m = e.manifest;
    const sh = m.shard!;
    if (!m.complete) {
      throw new Error(
        `${e.dir} (shard ${label(sh)}) is incomplete: ${m.n_samples} of its ${sh.n_samples} sequences written; ` +
          "rerun its task (the same command) to finish it",
      );
    }
    if (sh.first_sample !== nextSample) {
      throw new Error(`${e.dir} (shard ${label(sh)}) starts at sequence ${sh.first_sample}, but the shards before it end at ${nextSample}`);
    }
    nextSample += sh.n_samples;
    tokens += m.n_tokens;
  }
  const { total_samples, total_tokens } = first.manifest.shard!;
  if (nextSample !== total_samples || tokens !== total_tokens) {
    throw new Error(
      `the ${count} shards hold ${nextSample} sequences of ${tokens} tokens, but their extraction has ${total_samples} of ${total_tokens}`,
    );
  }
  return ordered;
}
