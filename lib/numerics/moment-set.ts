/**
 * Mergeable second moments of several hidden states, per group of tokens: the data every
 * linearity score, its out-of-sample (cross-validated) form and its jackknife interval need.
 *
 * Each unit (a document, or documents merged by id modulo a count) keeps, in float64, its token
 * count, every state's column means, every state's centred sum of squares, and the centred
 * cross-product blocks C_ij = sum_t (x_i,t - mean_i)(x_j,t - mean_j)^T that were asked for.
 * Centred about the unit's own means, two units merge exactly up to float64 rounding
 * (Chan, Golub and LeVeque's pairwise update):
 *
 *     n = n_a + n_b,  delta = mean_b - mean_a,  mean = mean_a + delta n_b / n,
 *     C = C_a + C_b + (n_a n_b / n) delta_i delta_j^T,
 *
 * and a unit can be taken out of a total the same way backwards (the jackknife's leave-one-out).
 * Nothing here depends on the order units arrive in beyond float64 summation order.
 */
import type { StorageDtype } from "./cut";

/** One state of a moment set. */
export interface MomentState {
  /** Its name, e.g. "state 3" or a file name. */
  name: string;
  /** d_model. */
  dim: number;
  /** How its values were stored before they became float32 (the precision cut needs it). */
  dtype: StorageDtype;
}

/** Moments of one unit (or of a merge of units). `blocks[k]` belongs to `products[k]` of its set. */
export interface UnitMoments {
  /** The unit's id (group id, or group id mod the unit count); -1 for a merged total. */
  id: number;
  /** Tokens. */
  count: number;
  /** Column means per state, [dim_s] each. */
  means: Float64Array[];
  /** Centred sum of squares per state, sum_t ||x_s,t - mean_s||^2, [n_states]. */
  sumSquares: Float64Array;
  /** Centred cross-product blocks, [dim_i, dim_j] row-major each, aligned with the set's `products`. */
  blocks: Float64Array[];
}

/** How tokens were assigned to units. */
export interface UnitRule {
  /** "group": one unit per group id; "group mod": unit = group id mod `modulus`; "one": every token in unit 0. */
  kind: "group" | "group mod" | "one";
  modulus?: number;
  /** Where the group ids came from, e.g. "documents", "sequences", "groups.npy". */
  groupsFrom?: string;
}

/** A set of per-unit moments: what `linearity moments` writes and `linearity merge` sums. */
export interface MomentSet {
  states: MomentState[];
  /** Blocks kept, (i, j) with i <= j: (i, i) is state i's Gram, (i, j) its cross product with j. */
  products: [number, number][];
  unitRule: UnitRule;
  /** Units by ascending id. */
  units: UnitMoments[];
}

/** Index of product (i, j) in `set.products`, or -1. */
export function productIndex(set: Pick<MomentSet, "products">, i: number, j: number): number {
  return set.products.findIndex(([a, b]) => a === i && b === j);
}

/** A fresh copy of a unit. */
export function cloneUnit(u: UnitMoments): UnitMoments {
  return { id: u.id, count: u.count, means: u.means.map((m) => m.slice()), sumSquares: u.sumSquares.slice(), blocks: u.blocks.map((b) => b.slice()) };
}

/**
 * Add unit `b` into `a` in place (Chan's update). `sign` -1 takes `b` out of `a` instead (b must
 * be part of a, with fewer tokens). Products and dims are those of `set`.
 */
export function combineInto(set: Pick<MomentSet, "states" | "products">, a: UnitMoments, b: UnitMoments, sign: 1 | -1 = 1): void {
  const na = a.count, nb = b.count;
  if (nb === 0) return;
  const n = na + sign * nb;
  if (sign === -1 && !(n > 0)) throw new Error(`moments: cannot take ${nb} tokens out of ${na}`);
  if (sign === 1 && na === 0) {
    a.count = nb;
    a.means = b.means.map((m) => m.slice());
    a.sumSquares = b.sumSquares.slice();
    a.blocks = b.blocks.map((x) => x.slice());
    return;
  }
  // delta = mean_b - mean_rest, where "rest" is a itself (adding) or a without b (taking out).
  const rest = sign === 1 ? undefined : a.means.map((m, s) => Float64Array.from(m, (v, c) => (na * v - nb * b.means[s][c]) / n));
  const delta = b.means.map((mb, s) => Float64Array.from(mb, (v, c) => v - (rest ? rest[s][c] : a.means[s][c])));
  const w = sign === 1 ? (na * nb) / n : (n * nb) / na; // n_rest n_b / n_total
  for (let s = 0; s < set.states.length; s++) {
    let dd = 0;
    for (const v of delta[s]) dd += v * v;
    a.sumSquares[s] += sign * (b.sumSquares[s] + w * dd);
    if (sign === 1) a.means[s] = Float64Array.from(a.means[s], (v, c) => v + (delta[s][c] * nb) / n);
    else a.means[s] = rest![s];
  }
  set.products.forEach(([i, j], k) => {
    const A = a.blocks[k], B = b.blocks[k], di = delta[i], dj = delta[j], dimJ = dj.length;
    for (let p = 0; p < di.length; p++) {
      const wp = w * di[p];
      for (let q = 0; q < dimJ; q++) A[p * dimJ + q] += sign * (B[p * dimJ + q] + wp * dj[q]);
    }
  });
  a.count = n;
}

/** An empty unit for `set`. */
export function emptyUnit(set: Pick<MomentSet, "states" | "products">, id: number): UnitMoments {
  return {
    id,
    count: 0,
    means: set.states.map((s) => new Float64Array(s.dim)),
    sumSquares: new Float64Array(set.states.length),
    blocks: set.products.map(([i, j]) => new Float64Array(set.states[i].dim * set.states[j].dim)),
  };
}

/** The merge of the units `keep` selects (all by default), id -1. */
export function totalOf(set: MomentSet, keep: (u: UnitMoments) => boolean = () => true): UnitMoments {
  const out = emptyUnit(set, -1);
  for (const u of set.units) if (keep(u)) combineInto(set, out, u);
  return out;
}

/** Whether two sets describe the same states and products (so that they can be merged). */
export function sameLayout(a: MomentSet, b: MomentSet): string | undefined {
  if (a.states.length !== b.states.length) return `${a.states.length} states against ${b.states.length}`;
  for (let s = 0; s < a.states.length; s++) {
    if (a.states[s].dim !== b.states[s].dim) return `state ${s} has d_model ${a.states[s].dim} against ${b.states[s].dim}`;
  }
  if (JSON.stringify(a.products) !== JSON.stringify(b.products)) return "different products";
  if (a.unitRule.kind !== b.unitRule.kind || a.unitRule.modulus !== b.unitRule.modulus) {
    return `units by ${describeUnits(a.unitRule)} against ${describeUnits(b.unitRule)}`;
  }
  return undefined;
}

/** "group", "group mod 20", "one". */
export function describeUnits(r: UnitRule): string {
  return r.kind === "group mod" ? `group mod ${r.modulus}` : r.kind;
}

/**
 * Merge sets with the same layout: units with the same id are combined (a document split across
 * shards), the others kept. The result shares no arrays with the inputs.
 */
export function mergeMomentSets(sets: readonly MomentSet[]): MomentSet {
  if (sets.length === 0) throw new Error("moments: nothing to merge");
  for (let k = 1; k < sets.length; k++) {
    const why = sameLayout(sets[0], sets[k]);
    if (why !== undefined) throw new Error(`moments: cannot merge set ${k + 1} into set 1: ${why}`);
  }
  const byId = new Map<number, UnitMoments>();
  for (const set of sets) {
    for (const u of set.units) {
      const have = byId.get(u.id);
      if (have === undefined) byId.set(u.id, cloneUnit(u));
      else combineInto(sets[0], have, u);
    }
  }
  const first = sets[0];
  return {
    states: first.states.map((s) => ({ ...s })),
    products: first.products.map(([i, j]) => [i, j] as [number, number]),
    unitRule: { ...first.unitRule },
    units: [...byId.values()].sort((a, b) => a.id - b.id),
  };
}
