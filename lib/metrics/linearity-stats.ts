/**
 * The linearity score with what a reviewer needs beside it, from per-group moments
 * (lib/numerics/moment-set.ts), all from the one pass over the data:
 *
 * - rank and cut: the directions of X the fit kept and cut (lib/numerics/cut.ts);
 * - floor = rank / (n - 1): the expected in-sample score of a Y independent of X (Gaussian), the
 *   chance level every in-sample score sits above;
 * - adjusted = 1 - (1 - score)(n - 1)/(n - rank - 1): the score with that chance part taken out
 *   (the adjusted R^2);
 * - cv: K-fold out-of-sample score by groups (documents): fold(t) = group(t) mod K; for each fold
 *   the map and the column means come from the other folds only, and
 *   cv = 1 - sum_folds SSE_heldout / sum_folds SST_heldout, SST about the training means;
 * - jackknife: leave-one-group-out scores s_(g), se = sqrt((G - 1)/G sum_g (s_(g) - mean)^2),
 *   95% interval score -/+ 1.959964 se.
 *
 * Held-out sums come from moments alone: with the test fold's count n_t, means m_t, centred blocks
 * C_t, the training means a and map B (centred coordinates),
 *   SSE = tr C_t,yy - 2 tr(B^T C_t,xy) + tr(B^T C_t,xx B) + n_t ||(m_ty - a_y) - (m_tx - a_x) B||^2,
 *   SST = tr C_t,yy + n_t ||m_ty - a_y||^2.
 * The residual form ("w/o residual", Y - X) uses C_xd = C_xy - C_xx and tr C_dd = tr C_yy -
 * 2 tr C_xy + tr C_xx: float64 moments of exact float64 products, so no float32 cancellation.
 */
import { denseOps } from "../numerics/dense-ops";
import { type MomentSet, type UnitMoments, combineInto, cloneUnit, productIndex, totalOf } from "../numerics/moment-set";
import { type CutReport, type GramFactor, explainedSumSquares, factorGram, solveMap } from "../numerics/solve";
import { clampScore } from "./linearity-accumulator";
import { UndefinedMetricError } from "./undefined-metric";

/** z of a two-sided 95% normal interval. */
export const Z95 = 1.959964;

/** Leave-one-group-out jackknife of the in-sample score. */
export interface JackknifeInterval {
  /** Groups (units) left out one at a time. */
  groups: number;
  /** sqrt((G - 1)/G sum (s_(g) - mean)^2). */
  se: number;
  /** [score - 1.959964 se, score + 1.959964 se]. */
  ci95: [number, number];
}

/** A score and its companions (see the file comment). */
export interface LinearityStats {
  /** The in-sample linearity score (fraction of Y's centred variance a linear map of X explains). */
  score: number;
  /** Directions of the centred X kept. */
  rank: number;
  /** Directions cut (d_model_x - rank), with the threshold and the rule. */
  cut: CutReport;
  /** rank / (n - 1): the expected score of an independent Gaussian Y. */
  floor: number;
  /** 1 - (1 - score)(n - 1)/(n - rank - 1); NaN when n <= rank + 1. */
  adjusted: number;
  /** Tokens. */
  nTokens: number;
  /** K-fold out-of-sample score by groups, with `folds`; null when not asked for. */
  cv: number | null;
  /** K of the cv (null without). */
  folds: number | null;
  /** Leave-one-group-out interval; null when not asked for. */
  jackknife: JackknifeInterval | null;
}

/** Options of {@link pairStats}. */
export interface PairStatsOptions {
  /** Score X against Y - X (the paper's "w/o residual"); same d_model. */
  residual?: boolean;
  /** Explicit pinv cut instead of the precision cut. */
  rcond?: number;
  /** K of the out-of-sample score (>= 2); fold = unit id mod K. */
  folds?: number;
  /** The leave-one-group-out jackknife (needs >= 2 units). */
  jackknife?: boolean;
  /** Function name for errors (default "pairStats"). */
  fn?: string;
}

/** The moments of one pair in a unit: X's Gram and sums of squares, X^T Y, Y's total. */
interface PairMoments {
  n: number;
  mx: Float64Array;
  my: Float64Array;
  Cxx: Float64Array;
  Cxy: Float64Array;
  yy: number;
}

function pairOf(set: MomentSet, u: UnitMoments, i: number, j: number, residual: boolean, fn: string): PairMoments {
  const kxx = productIndex(set, i, i), kxy = productIndex(set, i, j);
  if (kxx < 0 || kxy < 0) throw new Error(`${fn}: the moments hold no ${kxx < 0 ? `Gram of state ${i}` : `product of states ${i} and ${j}`}`);
  const Cxx = u.blocks[kxx], Cxy = u.blocks[kxy];
  if (!residual) return { n: u.count, mx: u.means[i], my: u.means[j], Cxx, Cxy, yy: u.sumSquares[j] };
  const d = set.states[i].dim;
  if (set.states[j].dim !== d) throw new Error(`${fn}: the residual score needs the same d_model, got ${d} and ${set.states[j].dim}`);
  let trXY = 0;
  for (let c = 0; c < d; c++) trXY += Cxy[c * d + c];
  return {
    n: u.count,
    mx: u.means[i],
    my: Float64Array.from(u.means[j], (v, c) => v - u.means[i][c]),
    Cxx,
    Cxy: Float64Array.from(Cxy, (v, k) => v - Cxx[k]),
    yy: Math.max(0, u.sumSquares[j] - 2 * trXY + u.sumSquares[i]),
  };
}

/** X's factor with the precision cut of its storage dtype (or rcond). */
function factorOf(set: MomentSet, i: number, p: PairMoments, rcond: number | undefined): GramFactor {
  const d = set.states[i].dim;
  const sumSquares = Float64Array.from(p.mx, (m, c) => p.Cxx[c * d + c] + p.n * m * m);
  return factorGram(p.Cxx, d, { rcond, precision: { dtype: set.states[i].dtype, rows: p.n, sumSquares }, rawDiag: sumSquares });
}

/** In-sample score and factor of a pair's moments; NaN score when Y has no variance. */
function inSample(set: MomentSet, i: number, p: PairMoments, rcond: number | undefined, dy: number): { score: number; f: GramFactor } {
  const f = factorOf(set, i, p, rcond);
  const score = p.yy > 0 && f.rank > 0 ? clampScore(explainedSumSquares(f, p.Cxy, dy) / p.yy) : NaN;
  return { score, f };
}

/** Held-out SSE and SST of `test` under the map fitted on `train`. */
function heldOut(set: MomentSet, i: number, train: PairMoments, test: PairMoments, rcond: number | undefined, dy: number): { sse: number; sst: number } {
  const d = set.states[i].dim;
  const f = factorOf(set, i, train, rcond);
  if (f.rank === 0) return { sse: NaN, sst: NaN };
  const B = solveMap(f, train.Cxy, dy);
  const CB = denseOps(true).matmul(false, d, dy, d, test.Cxx, B);
  let cross = 0, quad = 0;
  for (let k = 0; k < B.length; k++) {
    cross += B[k] * test.Cxy[k];
    quad += B[k] * CB[k];
  }
  const dx = Float64Array.from(test.mx, (v, c) => v - train.mx[c]);
  let offset = 0, dev = 0;
  for (let c = 0; c < dy; c++) {
    let pred = 0;
    for (let a = 0; a < d; a++) pred += dx[a] * B[a * dy + c];
    const dyc = test.my[c] - train.my[c];
    offset += (dyc - pred) ** 2;
    dev += dyc * dyc;
  }
  return { sse: test.yy - 2 * cross + quad + test.n * offset, sst: test.yy + test.n * dev };
}

/**
 * Score of state i -> state j (or of i against j - i with `residual`) from a moment set, with its
 * rank, cut, floor and adjusted score, and on request the K-fold out-of-sample score and the
 * leave-one-group-out jackknife (both over the set's units). Throws when X or Y has no variance.
 */
export function pairStats(set: MomentSet, i: number, j: number, opts: PairStatsOptions = {}): LinearityStats {
  const fn = opts.fn ?? "pairStats", residual = opts.residual ?? false;
  const dy = set.states[j].dim;
  const total = totalOf(set);
  const p = pairOf(set, total, i, j, residual, fn);
  const n = p.n;
  if (!(p.yy > 0)) {
    const y = residual ? `${set.states[j].name} - ${set.states[i].name}` : set.states[j].name;
    throw new UndefinedMetricError(`${fn}: '${y}' has no variance; the score is undefined`, `${residual ? "Y - X" : y} has no variance`);
  }
  const { score, f } = inSample(set, i, p, opts.rcond, dy);
  if (f.rank === 0) throw new UndefinedMetricError(`${fn}: '${set.states[i].name}' has no variance (every row is the same); the score is undefined`, `${set.states[i].name} has no variance`);
  const rank = f.rank;
  const out: LinearityStats = {
    score,
    rank,
    cut: f.cut,
    floor: n > 1 ? Math.min(1, rank / (n - 1)) : NaN,
    adjusted: n - rank - 1 > 0 ? 1 - ((1 - score) * (n - 1)) / (n - rank - 1) : NaN,
    nTokens: n,
    cv: null,
    folds: null,
    jackknife: null,
  };
  if (opts.folds !== undefined) {
    out.cv = crossValidated(set, i, j, total, opts.folds, residual, opts.rcond, fn);
    out.folds = opts.folds;
  }
  if (opts.jackknife) out.jackknife = jackknife(set, i, j, total, score, residual, opts.rcond, fn);
  return out;
}

/** Whether fold = unit id mod K equals fold = group id mod K under the set's unit rule. */
function checkFolds(set: MomentSet, K: number, fn: string): void {
  if (!(Number.isInteger(K) && K >= 2)) throw new Error(`${fn}: folds must be an integer >= 2, got ${K}`);
  const r = set.unitRule;
  if (r.kind === "one") throw new Error(`${fn}: cross-validation needs groups (the moments have one unit); give group ids`);
  if (r.kind === "group mod" && r.modulus! % K !== 0) throw new Error(`${fn}: ${K} folds need units by group mod a multiple of ${K}; these moments are by group mod ${r.modulus}`);
}

/** cv = 1 - sum SSE / sum SST over the K folds. */
function crossValidated(set: MomentSet, i: number, j: number, total: UnitMoments, K: number, residual: boolean, rcond: number | undefined, fn: string): number {
  checkFolds(set, K, fn);
  const dy = set.states[j].dim;
  let sse = 0, sst = 0, used = 0;
  for (let fold = 0; fold < K; fold++) {
    const test = totalOf(set, (u) => u.id % K === fold);
    if (test.count === 0) continue;
    if (test.count === total.count) throw new Error(`${fn}: every group falls in fold ${fold} of ${K}; cross-validation needs groups in at least two folds`);
    const train = cloneUnit(total);
    combineInto(set, train, test, -1);
    const r = heldOut(set, i, pairOf(set, train, i, j, residual, fn), pairOf(set, test, i, j, residual, fn), rcond, dy);
    sse += r.sse;
    sst += r.sst;
    used++;
  }
  if (used < 2) throw new Error(`${fn}: cross-validation needs groups in at least two folds`);
  return sst > 0 ? 1 - sse / sst : NaN;
}

/** Leave-one-unit-out scores and their interval. */
function jackknife(set: MomentSet, i: number, j: number, total: UnitMoments, score: number, residual: boolean, rcond: number | undefined, fn: string): JackknifeInterval {
  const units = set.units.filter((u) => u.count > 0);
  const G = units.length;
  if (G < 2) throw new Error(`${fn}: the jackknife needs at least 2 groups, the moments have ${G}`);
  const dy = set.states[j].dim;
  const s = units.map((u) => {
    const rest = cloneUnit(total);
    combineInto(set, rest, u, -1);
    return inSample(set, i, pairOf(set, rest, i, j, residual, fn), rcond, dy).score;
  });
  const mean = s.reduce((a, b) => a + b, 0) / G;
  const se = Math.sqrt(((G - 1) / G) * s.reduce((a, v) => a + (v - mean) ** 2, 0));
  return { groups: G, se, ci95: [score - Z95 * se, score + Z95 * se] };
}
