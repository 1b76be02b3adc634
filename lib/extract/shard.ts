/**
 * Sharded extraction (`--shard I/N`): shard I of N writes a contiguous share of the sequences the
 * unsharded extraction writes, sequences floor(I*S/N) .. floor((I+1)*S/N) - 1 of its S. Contiguous
 * shares keep the run's order (the shards read one after another are the unsharded dataset) and
 * balance the work to within one sequence; the price is one tokenizing pass over the text to
 * count S before the first forward pass, which is small next to the model's work.
 */
import type { ShardInfo } from "../dataset/types";
import type { Sequence } from "./sequences";

/** A shard as given on the command line: index I (from 0) of count N. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Parse "I/N" (0 <= I < N); the message names the option. */
export function parseShard(spec: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new Error(`'shard' must be I/N with 0 <= I < N (shard I of N, counted from 0, e.g. 0/3), got '${spec}'`);
  }
  return { index, count };
}

/** The sequence range [start, end) of shard `index` of `count` over `total` sequences. */
export function shardRange(total: number, index: number, count: number): [number, number] {
  return [Math.floor((index * total) / count), Math.floor(((index + 1) * total) / count)];
}

/**
 * Count the sequences and tokens of the whole run and locate shard `spec` in it. Refuses a split
 * into more shards than there are sequences (a shard would be empty).
 */
export function planShard(all: Iterable<Sequence>, spec: ShardSpec): ShardInfo {
  const lengths: number[] = [];
  const sources: string[] = [];
  for (const s of all) {
    lengths.push(s.tokenIds.length);
    sources.push(s.source);
  }
  const total = lengths.length;
  if (total < spec.count) {
    throw new Error(
      `'shard' ${spec.index}/${spec.count}: the text gives only ${total} sequence${total === 1 ? "" : "s"}, fewer than ${spec.count} shards; use at most ${total} shards`,
    );
  }
  const [start, end] = shardRange(total, spec.index, spec.count);
  const sum = (from: number, to: number): number => lengths.slice(from, to).reduce((a, b) => a + b, 0);
  return {
    index: spec.index,
    count: spec.count,
    first_sample: start,
    n_samples: end - start,
    n_tokens: sum(start, end),
    total_samples: total,
    total_tokens: sum(0, total),
    documents: documentNumbers(sources, start, end),
  };
}

/**
 * The run's number (order of first appearance, from 0) of each document of sequences
 * start..end-1, listed in the order the documents first appear among those sequences.
 */
function documentNumbers(sources: readonly string[], start: number, end: number): number[] {
  const numberOf = new Map<string, number>();
  for (const s of sources) if (!numberOf.has(s)) numberOf.set(s, numberOf.size);
  const seen = new Set<string>();
  const out: number[] = [];
  for (const s of sources.slice(start, end)) {
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(numberOf.get(s)!);
  }
  return out;
}

/** The sequences of `shard` out of the run's sequences `all` (lazily; the rest are skipped). */
export function* shardSequences(all: Iterable<Sequence>, shard: ShardInfo): Generator<Sequence> {
  let i = 0;
  const end = shard.first_sample + shard.n_samples;
  for (const s of all) {
    if (i >= end) return;
    if (i >= shard.first_sample) yield s;
    i++;
  }
}
