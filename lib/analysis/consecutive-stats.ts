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
import { LinearityAccumulator } from "../metrics/linearity-accumulator";
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
  /** Called after each chunk with tokens done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** What `consecutiveStats` returns: the token count and one `StateStats` per state. */
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
  const norms = Array.from({ length: S }, (_, b) => new MeanNormAccumulator(d, "consecutiveStats", `state ${b}`));
  const cosines = Array.from({ length: S - 1 }, () => new CosineAccumulator(d, {}, "consecutiveStats"));
  const pairs = withLinearity
    ? Array.from({ length: S - 1 }, (_, b) => new LinearityAccumulator(d, d, { fn: "consecutiveStats", names: [`state ${b}`, `state ${b + 1}`], residual: true }))
    : [];
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
    for (let b = 0; b < S - 1; b++) {
      cosines[b].add(st[b], st[b + 1]);
      pairs[b]?.add(st[b], st[b + 1]);
    }
    opts.onProgress?.(chunk.start + chunk.rows, total);
  }
  const states: StateStats[] = norms.map((acc, b) => {
    const s: StateStats = { state: b, meanNorm: acc.mean };
    const undefinedReasons: Partial<Record<StateMetric, string>> = {};
    const set = (metric: StateMetric, r: { value: number; reason?: string }): void => {
      s[metric] = r.value;
      if (r.reason !== undefined) undefinedReasons[metric] = r.reason;
    };
    if (aniso.length > 0) {
      const r = valueOrUndefined(() => aniso[b].result());
      set("anisotropy", { value: r.value?.anisotropy ?? NaN, reason: r.reason });
    }
    if (idRows >= 3) {
      const id = intrinsicDimension(idData[b], d, { keepFraction: opts.keepFraction, estimator: opts.estimator, fn: "inspect" });
      set("intrinsicDimension", { value: id.dimension, reason: id.undefinedReason });
    }
    if (b < S - 1) {
      s.cosineNext = cosines[b].meanCosine;
      if (withLinearity) {
        const r = valueOrUndefined(() => pairs[b].result());
        set("linearityNext", { value: r.value?.score ?? NaN, reason: r.reason });
        const residual = r.value?.residualScore ?? NaN;
        set("residualLinearityNext", { value: residual, reason: r.reason ?? (Number.isNaN(residual) ? "Y - X has no variance" : undefined) });
      }
    }
    if (Object.keys(undefinedReasons).length > 0) s.undefinedReasons = undefinedReasons;
    return s;
  });
  return { nTokens: total, states };
}
