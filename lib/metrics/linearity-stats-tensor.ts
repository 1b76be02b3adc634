/**
 * The one call for in-memory states: the linearity score of x -> y with its rank, cut, chance
 * floor, adjusted score, and from group ids its K-fold out-of-sample score and leave-one-group-out
 * jackknife interval (lib/metrics/linearity-stats.ts), in one pass over the rows.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape } from "../numerics/check";
import type { StorageDtype } from "../numerics/cut";
import { float32Data } from "../numerics/data";
import { MomentAccumulator } from "../numerics/moment-accumulator";
import { type LinearityStats, pairStats } from "./linearity-stats";

/** Options of {@link linearityStats}. */
export interface LinearityStatsOptions {
  /** Score x against y - x (the paper's "w/o residual"). */
  residual?: boolean;
  /** Group (document) id of every token, [tokens] non-negative integers (e.g. `tokenGroups(ds).ids`). */
  groups?: ArrayLike<number>;
  /** K of the out-of-sample score (needs `groups`; fold = group mod K). */
  folds?: number;
  /** The leave-one-group-out jackknife (needs `groups`; one unit per group). */
  jackknife?: boolean;
  /** Explicit pinv cut instead of the precision cut. */
  rcond?: number;
  /** How x was stored before it became float32 (default "float32"; "float16" for the shipped dataset's states). */
  storage?: StorageDtype;
}

/**
 * `{score, rank, cut, floor, adjusted, nTokens, cv, folds, jackknife: {groups, se, ci95}}` for
 * x [tokens, d_model] -> y [tokens, d_model_y] (cv and jackknife null unless asked for).
 *
 * ```ts
 * const { ds, states } = await openSamples();
 * const s = linearityStats(states[2], states[3], { groups: tokenGroups(ds).ids, folds: 5, jackknife: true, storage: "float16" });
 * ```
 */
export function linearityStats(x: tf.Tensor2D, y: tf.Tensor2D, opts: LinearityStatsOptions = {}): LinearityStats {
  const fn = "linearityStats";
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], opts.residual ? ["d_model", d] : "d_model"]);
  if ((opts.folds !== undefined || opts.jackknife) && opts.groups === undefined) throw new Error(`${fn}: 'folds' and 'jackknife' need 'groups' (the document of every token)`);
  if (opts.groups !== undefined && opts.groups.length !== n) throw new Error(`${fn}: 'groups' expected ${n} ids (one per token), got ${opts.groups.length}`);
  const storage = opts.storage ?? "float32";
  const acc = new MomentAccumulator({
    fn,
    states: [{ name: "x", dim: d, dtype: storage }, { name: "y", dim: dy, dtype: storage }],
    products: [[0, 0], [0, 1]],
    unitRule: opts.groups === undefined ? { kind: "one" } : opts.jackknife ? { kind: "group" } : { kind: "group mod", modulus: opts.folds! },
  });
  acc.add([float32Data(x), float32Data(y)], opts.groups);
  return pairStats(acc.result(), 0, 1, { residual: opts.residual, rcond: opts.rcond, folds: opts.folds, jackknife: opts.jackknife, fn });
}
