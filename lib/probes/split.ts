/**
 * Reproducible train/test split of token rows, as the original's `random_split` 70/30.
 */
import { mulberry32, permutation } from "./random";

/** Options of {@link splitTrainTest}. */
export interface SplitOptions {
  /** Fraction of rows in the test set, in (0, 1). Default 0.3 (the original's 70/30 split). */
  testFraction?: number;
  /** Seed of the permutation (mulberry32). Default 0. */
  seed?: number;
}

/** Row indices of a split; both sorted ascending, disjoint, together 0..n-1. */
export interface TrainTestSplit {
  /** [n_train] row indices */
  train: Int32Array;
  /** [n_test] row indices */
  test: Int32Array;
}

/**
 * Split rows 0..n-1 at random into a train and a test set. The test set has
 * `round(n * testFraction)` rows (at least 1, and at least 1 row is left to train on), drawn by a
 * seeded Fisher-Yates permutation, so the same (n, testFraction, seed) always gives the same
 * split. Indices are returned sorted, which keeps gathers from row-major buffers sequential.
 */
export function splitTrainTest(n: number, opts: SplitOptions = {}): TrainTestSplit {
  const testFraction = opts.testFraction ?? 0.3;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(n) || n < 2) {
    throw new Error(`splitTrainTest: 'n' expected an integer >= 2 (rows to split), got ${n}`);
  }
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new Error(`splitTrainTest: 'testFraction' expected a number in (0, 1), got ${testFraction}`);
  }
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
  const order = permutation(n, mulberry32(seed));
  const test = order.slice(0, nTest).sort();
  const train = order.slice(nTest).sort();
  return { train, test };
}
