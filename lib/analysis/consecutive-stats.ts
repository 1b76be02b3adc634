/**
 * Per-state summary of a dataset in one streaming pass: mean L2 norm of each state, mean cosine
 * of consecutive states (b, b+1), the linearity score of b -> b+1 (with and without the
 * residual), the anisotropy of each state, and its TwoNN intrinsic dimension on the first
 * `idMaxTokens` tokens (kept from the same pass). Memory is O(n_states * d_model^2) plus
 * n_states * idMaxTokens * d_model floats, whatever the number of tokens.
 */
import type { HiddenStateDataset } from "../dataset/reader";
import { AnisotropyAccumulator } from "../metrics/anisotropy";
import { CosineAccumulator } from "../metrics/cosine";
import { intrinsicDimension, type TwoNNEstimator } from "../metrics/intrinsic-dimension";
import { type LinearityStats, pairStats } from "../metrics/linearity-stats";
import { storageDtypeOf } from "../numerics/cut";
import { MomentAccumulator } from "../numerics/moment-accumulator";
import type { UnitRule } from "../numerics/moment-set";
import { tokenGroups } from "../dataset/token-groups";
import { MeanNormAccumulator } from "../metrics/norms";
import { valueOrUndefined } from "../metrics/undefined-metric";

/** The metrics of a state that the data can leave undefined (NaN, with a reason). */
export type StateMetric = "linearityNext" | "residualLinearityNext" | "anisotropy" | "intrinsicDimension";

/** One state's row of `consecutiveStats`: its mean norm, its cosine (and optionally linearity) to the next state, optional anisotropy and intrinsic dimension. */
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
  /** The linearity score b -> b+1 with its rank, cut, chance floor, adjusted score (and cv, jackknife when asked for). */
  linearityStats?: LinearityStats;
  /** The same for the score without the residual. */
  residualStats?: LinearityStats;
  /** Largest eigenvalue over trace of the centred covariance; undefined when skipped. */
  anisotropy?: number;
  /** TwoNN intrinsic dimension of the first idMaxTokens tokens; undefined when skipped. */
  intrinsicDimension?: number;
  /**
   * For each metric that the data leaves undefined (its value is NaN): why, in a few words
   * ("every mu = 1", "no variance"). One undefined metric never stops the others.
   */
  undefinedReasons?: Partial<Record<StateMetric, string>>;
}

/** Options of `consecutiveStats`: rows per chunk, a token cap, and which optional measurements to add (linearity, anisotropy, intrinsic dimension). */
export interface ConsecutiveStatsOptions {
  /** Rows per chunk (default 4096). */
  rows?: number;
  /** Use only the first `maxTokens` tokens (default all). */
  maxTokens?: number;
  /** Compute the linearity scores (default true; the costly part, O(tokens * d_model^2) per pair). */
  linearity?: boolean;
  /** Compute each state's anisotropy (default true). */
  anisotropy?: boolean;
  /** Compute each state's TwoNN intrinsic dimension (default true). */
  intrinsicDimension?: boolean;
  /** Tokens the intrinsic dimension uses, the first ones (default 4096, as LLM-Microscope). */
  idMaxTokens?: number;
  /** TwoNN keep fraction (default: the estimator's, 0.9 standard, 0.2 llm-microscope). */
  keepFraction?: number;
  /** TwoNN estimator (default "standard"; "llm-microscope" is LLM-Microscope's exact one). */
  estimator?: TwoNNEstimator;
  /** K of the out-of-sample linearity score, folds by document (fold = document mod K). */
  folds?: number;
  /** The leave-one-unit-out jackknife of the linearity scores (units: `units`). */
  jackknife?: boolean;
  /**
   * With folds or the jackknife: documents merged by id mod this count into units (default 20,
   * rounded down to a multiple of the folds; 0: one unit per document). Memory: one set of the
   * 2 (n_states - 1) d_model^2 float64 blocks per unit.
   */
  units?: number;
  /** Called after each chunk with tokens done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** What `consecutiveStats` returns: the token count and one `StateStats` per state. */
export interface ConsecutiveStats {
  nTokens: number;
  states: StateStats[];
  /** With folds or jackknife: the groups used ("documents", or "sequences" where the dataset records none) and how many. */
  groups?: { from: "documents" | "sequences"; count: number; units: UnitRule };
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
  const norms = Array.from({ length: S }, (_, b) => new MeanNormAccumulator(d, "consecutiveStats", `state ${b}`));
  const cosines = Array.from({ length: S - 1 }, () => new CosineAccumulator(d, {}, "consecutiveStats"));
  // Every consecutive pair's moments in one accumulator; per document only when cv or the jackknife needs them.
  const grouped = withLinearity && (opts.folds !== undefined || opts.jackknife === true);
  const groups = grouped ? tokenGroups(ds, total) : undefined;
  const K = opts.folds ?? 1, wanted = opts.units ?? 20;
  const modulus = opts.jackknife ? (wanted === 0 ? 0 : Math.max(K, Math.floor(wanted / K) * K)) : K;
  const unitRule: UnitRule = !grouped ? { kind: "one" } : modulus === 0 ? { kind: "group", groupsFrom: groups!.from } : { kind: "group mod", modulus, groupsFrom: groups!.from };
  const products: [number, number][] = [];
  for (let b = 0; b < S - 1; b++) products.push([b, b], [b, b + 1]);
  const dtype = storageDtypeOf(ds.dtype);
  const moments = withLinearity
    ? new MomentAccumulator({ fn: "consecutiveStats", states: Array.from({ length: S }, (_, b) => ({ name: `state ${b}`, dim: d, dtype })), products, unitRule })
    : undefined;
  const aniso = (opts.anisotropy ?? true)
    ? Array.from({ length: S }, (_, b) => new AnisotropyAccumulator(d, { fn: "inspect", name: `state ${b}` }))
    : [];
  const idRows = opts.intrinsicDimension ?? true ? Math.min(total, opts.idMaxTokens ?? 4096) : 0;
  const idData = Array.from({ length: idRows > 0 ? S : 0 }, () => new Float32Array(idRows * d));
  for (const chunk of ds.chunks({ rows: opts.rows, end: total })) {
    const st = chunk.states;
    for (let b = 0; b < S; b++) norms[b].add(st[b]);
    for (let b = 0; b < aniso.length; b++) aniso[b].add(st[b]);
    if (chunk.start < idRows) {
      const take = Math.min(chunk.rows, idRows - chunk.start);
      idData.forEach((buf, b) => buf.set(st[b].subarray(0, take * d), chunk.start * d));
    }
    for (let b = 0; b < S - 1; b++) cosines[b].add(st[b], st[b + 1]);
    moments?.add(st, groups?.ids.subarray(chunk.start, chunk.start + chunk.rows));
    opts.onProgress?.(chunk.start + chunk.rows, total);
  }
  const set = moments?.result();
  const states: StateStats[] = norms.map((acc, b) => {
    const s: StateStats = { state: b, meanNorm: acc.mean };
    const undefinedReasons: Partial<Record<StateMetric, string>> = {};
    const setMetric = (metric: StateMetric, r: { value: number; reason?: string }): void => {
      s[metric] = r.value;
      if (r.reason !== undefined) undefinedReasons[metric] = r.reason;
    };
    if (aniso.length > 0) {
      const r = valueOrUndefined(() => aniso[b].result());
      setMetric("anisotropy", { value: r.value?.anisotropy ?? NaN, reason: r.reason });
    }
    if (idRows >= 3) {
      const id = intrinsicDimension(idData[b], d, { keepFraction: opts.keepFraction, estimator: opts.estimator, fn: "inspect" });
      setMetric("intrinsicDimension", { value: id.dimension, reason: id.undefinedReason });
    }
    if (b < S - 1) {
      s.cosineNext = cosines[b].meanCosine;
      if (set !== undefined) {
        const stat = { folds: opts.folds, jackknife: opts.jackknife, fn: "consecutiveStats" };
        const r = valueOrUndefined(() => pairStats(set, b, b + 1, stat));
        setMetric("linearityNext", { value: r.value?.score ?? NaN, reason: r.reason });
        if (r.value) s.linearityStats = r.value;
        const q = r.reason !== undefined ? { reason: r.reason } : valueOrUndefined(() => pairStats(set, b, b + 1, { ...stat, residual: true }));
        setMetric("residualLinearityNext", { value: q.value?.score ?? NaN, reason: q.reason });
        if (q.value) s.residualStats = q.value;
      }
    }
    if (Object.keys(undefinedReasons).length > 0) s.undefinedReasons = undefinedReasons;
    return s;
  });
  return { nTokens: total, states, ...(groups !== undefined ? { groups: { from: groups.from, count: groups.count, units: unitRule } } : {}) };
}
