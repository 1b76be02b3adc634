/**
 * Per-state summary of a dataset in one streaming pass: mean L2 norm of each state, mean cosine
 * of consecutive states (b, b+1) and the linearity score of b -> b+1 (with and without the
 * residual). Memory is O(n_states * d_model^2) whatever the number of tokens.
 */
import type { HiddenStateDataset } from "../dataset/reader";
import { CosineAccumulator } from "../metrics/cosine";
import { LinearityAccumulator } from "../metrics/linearity-accumulator";
import { MeanNormAccumulator } from "../metrics/norms";

export interface StateStats {
  state: number;
  /** Mean over tokens of ||h_b||_2. */
  meanNorm: number;
  /** Mean over tokens of cos(h_b, h_{b+1}); undefined for the last state. */
  cosineNext?: number;
  /** Linearity score of state b -> state b+1; undefined for the last state or when skipped. */
  linearityNext?: number;
  /** Score of state b against h_{b+1} - h_b (the paper's "w/o residual"). */
  residualLinearityNext?: number;
}

export interface ConsecutiveStatsOptions {
  /** Rows per chunk (default 4096). */
  rows?: number;
  /** Use only the first `maxTokens` tokens (default all). */
  maxTokens?: number;
  /** Compute the linearity scores (default true; the costly part, O(tokens * d_model^2) per pair). */
  linearity?: boolean;
  /** Called after each chunk with tokens done and total. */
  onProgress?: (done: number, total: number) => void;
}

export interface ConsecutiveStats {
  nTokens: number;
  states: StateStats[];
}

/** Compute {@link StateStats} for every state of `ds` in one pass over its chunks. */
export function consecutiveStats(ds: HiddenStateDataset, opts: ConsecutiveStatsOptions = {}): ConsecutiveStats {
  const total = Math.min(ds.nTokens, opts.maxTokens ?? ds.nTokens);
  if (!(Number.isInteger(total) && total >= 1)) {
    throw new Error(`consecutiveStats: need at least one token (maxTokens ${opts.maxTokens}, dataset has ${ds.nTokens})`);
  }
  const d = ds.dModel;
  const S = ds.nStates;
  const withLinearity = opts.linearity ?? true;
  const norms = Array.from({ length: S }, (_, b) => new MeanNormAccumulator(d, "inspect", `state ${b}`));
  const cosines = Array.from({ length: S - 1 }, () => new CosineAccumulator(d, {}, "inspect"));
  const pairs = withLinearity
    ? Array.from({ length: S - 1 }, (_, b) => new LinearityAccumulator(d, d, { fn: "inspect", names: [`state ${b}`, `state ${b + 1}`] }))
    : [];
  for (const chunk of ds.chunks({ rows: opts.rows, end: total })) {
    const st = chunk.states;
    for (let b = 0; b < S; b++) norms[b].add(st[b]);
    for (let b = 0; b < S - 1; b++) {
      cosines[b].add(st[b], st[b + 1]);
      pairs[b]?.add(st[b], st[b + 1]);
    }
    opts.onProgress?.(chunk.start + chunk.rows, total);
  }
  const states: StateStats[] = norms.map((acc, b) => {
    const s: StateStats = { state: b, meanNorm: acc.mean };
    if (b < S - 1) {
      s.cosineNext = cosines[b].meanCosine;
      if (withLinearity) {
        const r = pairs[b].result();
        s.linearityNext = r.score;
        s.residualLinearityNext = r.residualScore;
      }
    }
    return s;
  });
  return { nTokens: total, states };
}
