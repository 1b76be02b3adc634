/**
 * Per-document moments of a dataset's consecutive states in one pass (what `linearity moments`
 * writes), and the consecutive scores with floor, adjusted, cv and jackknife from them.
 */
import type { HiddenStateDataset } from "../dataset/reader";
import { tokenGroups, type TokenGroups } from "../dataset/token-groups";
import { type LinearityStats, type PairStatsOptions, pairStats } from "../metrics/linearity-stats";
import { storageDtypeOf } from "../numerics/cut";
import { MomentAccumulator } from "../numerics/moment-accumulator";
import type { MomentSet, UnitRule } from "../numerics/moment-set";

/** Options of {@link datasetMoments}. */
export interface DatasetMomentsOptions {
  /**
   * Units: documents merged by id modulo this count (default 20: the jackknife over 20 units, cv
   * with 2, 4, 5, 10 or 20 folds); 0 keeps one unit per document (memory: one set of blocks each).
   */
  units?: number;
  /** Use only the first `maxTokens` tokens. */
  maxTokens?: number;
  /** Rows per chunk (default 4096). */
  rows?: number;
  /** Called after each chunk with tokens done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Default unit count of a moments file. */
export const DEFAULT_MOMENT_UNITS = 20;

/**
 * Moments of every consecutive pair b -> b+1 (blocks (b, b) and (b, b+1); the residual form
 * needs nothing more) per unit of documents, in one pass. Returns the set and the groups used.
 */
export function datasetMoments(ds: HiddenStateDataset, opts: DatasetMomentsOptions = {}): { set: MomentSet; groups: TokenGroups } {
  const total = Math.min(ds.nTokens, opts.maxTokens ?? ds.nTokens);
  if (!(total >= 2)) throw new Error(`datasetMoments: needs at least 2 tokens, the dataset has ${ds.nTokens}`);
  const groups = tokenGroups(ds, total);
  const units = opts.units ?? DEFAULT_MOMENT_UNITS;
  if (!(Number.isInteger(units) && units >= 0)) throw new Error(`datasetMoments: 'units' must be a non-negative integer, got ${units}`);
  const unitRule: UnitRule = units === 0 ? { kind: "group", groupsFrom: groups.from } : { kind: "group mod", modulus: units, groupsFrom: groups.from };
  const S = ds.nStates, dtype = storageDtypeOf(ds.dtype);
  const products: [number, number][] = [];
  for (let b = 0; b < S - 1; b++) products.push([b, b], [b, b + 1]);
  const acc = new MomentAccumulator({
    fn: "datasetMoments",
    states: Array.from({ length: S }, (_, s) => ({ name: `state ${s}`, dim: ds.dModel, dtype })),
    products,
    unitRule,
  });
  for (const chunk of ds.chunks({ rows: opts.rows, end: total })) {
    acc.add(chunk.states, groups.ids.subarray(chunk.start, chunk.start + chunk.rows));
    opts.onProgress?.(chunk.start + chunk.rows, total);
  }
  return { set: acc.result(), groups };
}

/** The stats of one consecutive pair: plain and without the residual. */
export interface ConsecutivePairStats {
  /** Source state b (target b + 1). */
  state: number;
  plain: LinearityStats;
  residual: LinearityStats;
}

/** Stats of every consecutive pair of a moment set that holds them (as {@link datasetMoments} makes). */
export function consecutivePairStats(set: MomentSet, opts: Omit<PairStatsOptions, "residual"> = {}): ConsecutivePairStats[] {
  const out: ConsecutivePairStats[] = [];
  for (let b = 0; b + 1 < set.states.length; b++) {
    out.push({ state: b, plain: pairStats(set, b, b + 1, { ...opts }), residual: pairStats(set, b, b + 1, { ...opts, residual: true }) });
  }
  return out;
}
