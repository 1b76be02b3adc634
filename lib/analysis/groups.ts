/**
 * Token-level summaries for the notebooks: per-label means of a per-token score (e.g. mean token
 * linearity per part-of-speech tag) and row selections by label.
 */

/** One group of {@link groupMeans}. */
export interface GroupMean {
  label: string;
  /** Tokens with this label and a finite value. */
  count: number;
  mean: number;
}

/**
 * Mean of `values` [tokens] per label of `labels` [tokens], over finite values only (a NaN, e.g.
 * a relative token linearity of a zero row, is left out and not counted). Groups with fewer than
 * `minCount` values are dropped (default 1). Sorted by count, largest first, then by label.
 */
export function groupMeans(values: ArrayLike<number>, labels: readonly string[], opts: { minCount?: number } = {}): GroupMean[] {
  if (values.length !== labels.length) {
    throw new Error(`groupMeans: 'labels' expected ${values.length} entries (one per value), got ${labels.length}`);
  }
  const minCount = opts.minCount ?? 1;
  if (!Number.isInteger(minCount) || minCount < 1) {
    throw new Error(`groupMeans: 'minCount' expected a positive integer, got ${minCount}`);
  }
  const sums = new Map<string, { sum: number; count: number }>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const g = sums.get(labels[i]) ?? { sum: 0, count: 0 };
    g.sum += v;
    g.count += 1;
    sums.set(labels[i], g);
  }
  return [...sums.entries()]
    .filter(([, g]) => g.count >= minCount)
    .map(([label, g]) => ({ label, count: g.count, mean: g.sum / g.count }))
    .sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/** Indices i (ascending) where `keep(labels[i], i)` is true, as an Int32Array for tf.gather. */
export function indicesWhere<T>(labels: ArrayLike<T>, keep: (label: T, index: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (keep(labels[i], i)) out.push(i);
  return Int32Array.from(out);
}
