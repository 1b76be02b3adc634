/**
 * A metric that the data leaves undefined (not a bad input, not a bug): TwoNN on a state where
 * every fitted ratio r2/r1 is 1, the anisotropy or a linearity score of a state with no variance.
 * Thrown with a one-line message; `reason` is the short form a table cell shows
 * ("undefined (every mu = 1)"). Summaries that compute several metrics (consecutiveStats,
 * `linearity inspect`) catch exactly this class per metric and show the reason in that metric's
 * cell, so one undefined metric never takes the other metrics down.
 */
export class UndefinedMetricError extends Error {
  constructor(
    message: string,
    /** Short reason for a table cell, e.g. "every mu = 1", "no variance". */
    readonly reason: string,
  ) {
    super(message);
    this.name = "UndefinedMetricError";
  }
}

/** The value of `compute()`, or no value and the reason when the metric is undefined for this data (other errors propagate). */
export function valueOrUndefined<T>(compute: () => T): { value?: T; reason?: string } {
  try {
    return { value: compute() };
  } catch (e) {
    if (e instanceof UndefinedMetricError) return { reason: e.reason };
    throw e;
  }
}
