/**
 * Which blocks to replace or remove: three published rules, as pure functions of per-block
 * numbers measured on calibration text (block-stats.ts measures them).
 *
 * - "linearity" (Razzhigaev et al. 2024, §5): the K blocks whose output is most linear in their
 *   input, i.e. the highest linearity score of resid_pre -> resid_post.
 * - "angular" (Gromov et al. 2024, "The Unreasonable Ineffectiveness of the Deeper Layers"): the
 *   contiguous run of K blocks l..l+K-1 whose input and output are closest in angle on the last
 *   token of each sequence, arccos(cos(x_l, x_{l+K})) / pi.
 * - "bi" (Men et al. 2024, ShortGPT): the K blocks of lowest Block Influence,
 *   BI_l = 1 - mean over tokens of cos(resid_pre_l, resid_post_l).
 *
 * Every rule returns block indices in ascending order; ties go to the lower index.
 */

/** The selection rules `linearity prune --select` accepts. */
export const SELECT_RULES = ["linearity", "angular", "bi"] as const;
/** One of `SELECT_RULES`. */
export type SelectRule = (typeof SELECT_RULES)[number];

/** What the rules read, per block l = 0..n_layers-1 (see block-stats.ts). */
export interface BlockStats {
  /** Linearity score of resid_pre_l -> resid_post_l, in [0, 1]. */
  readonly linearity: readonly number[];
  /** Block Influence 1 - mean cos(resid_pre_l, resid_post_l), in [0, 2]. */
  readonly blockInfluence: readonly number[];
  /**
   * angular[s][t] (s < t, residual-stream indices 0..n_layers, where index l is resid_pre of
   * block l and index n_layers is the last block's resid_post before the final norm): mean over
   * sequences of arccos(cos) / pi between the last tokens' states s and t. NaN where s >= t.
   */
  readonly angular: readonly (readonly number[])[];
}

/** A selection: the chosen blocks and, per chosen block, the number the rule ranked it by. */
export interface Selection {
  readonly rule: SelectRule;
  /** Block indices, ascending. */
  readonly blocks: number[];
  /** The rule's score per chosen block (for angular: the run's distance, repeated). */
  readonly scores: number[];
  /** What the score means, for printing. */
  readonly scoreName: string;
}

function checkCount(k: number, n: number): void {
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new Error(`--blocks must be an integer from 1 to ${n} (the model's blocks), got ${k}`);
  }
}

function checkFinite(what: string, values: readonly number[]): void {
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`${what} of block ${i} is ${v}; cannot rank the blocks`);
  });
}

/** Indices of the k largest values, ascending; ties keep the lower index. */
export function indicesOfLargest(values: readonly number[], k: number): number[] {
  checkCount(k, values.length);
  checkFinite("score", values);
  const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

/** Indices of the k smallest values, ascending; ties keep the lower index. */
export function indicesOfSmallest(values: readonly number[], k: number): number[] {
  return indicesOfLargest(values.map((v) => -v), k);
}

/**
 * Start l of the run of k blocks whose input state l and output state l + k are closest:
 * argmin over l = 0..n-k of distance[l][l + k] (`distance` is (n+1) x (n+1), n = blocks).
 */
export function bestContiguousRun(distance: readonly (readonly number[])[], k: number): number {
  const n = distance.length - 1;
  checkCount(k, n);
  let best = -1;
  for (let l = 0; l + k <= n; l++) {
    const d = distance[l][l + k];
    if (!Number.isFinite(d)) throw new Error(`angular distance of blocks ${l}..${l + k - 1} is ${d}; cannot rank the runs`);
    if (best < 0 || d < distance[best][best + k]) best = l;
  }
  return best;
}

/** Apply one rule to measured block statistics: the k blocks to change. */
export function selectBlocks(rule: SelectRule, stats: BlockStats, k: number): Selection {
  switch (rule) {
    case "linearity": {
      const blocks = indicesOfLargest(stats.linearity, k);
      return { rule, blocks, scores: blocks.map((b) => stats.linearity[b]), scoreName: "linearity (resid_pre -> resid_post)" };
    }
    case "bi": {
      const blocks = indicesOfSmallest(stats.blockInfluence, k);
      return { rule, blocks, scores: blocks.map((b) => stats.blockInfluence[b]), scoreName: "block influence (1 - cos)" };
    }
    case "angular": {
      const start = bestContiguousRun(stats.angular, k);
      const blocks = Array.from({ length: k }, (_, i) => start + i);
      const d = stats.angular[start][start + k];
      return { rule, blocks, scores: blocks.map(() => d), scoreName: `angular distance of the run (last token, state ${start} -> ${start + k})` };
    }
    default:
      throw new Error(`--select must be one of ${SELECT_RULES.join(", ")}, got '${String(rule)}'`);
  }
}
