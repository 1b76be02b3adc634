/** The random baseline: how linear two unrelated [tokens, d_model] matrices look. */
import { fillNormal, normalRng } from "../numerics/random";
import { LinearityAccumulator } from "./linearity-accumulator";

/**
 * Expected linearity score of two independent Gaussian matrices [n, d]: after centring, X spans
 * a random d-dimensional subspace of an (n-1)-dimensional space, so E[score] = d / (n - 1)
 * (0.0334 for the original's 22,986 x 768). Valid for d < n - 1; the score is 1 beyond that.
 */
export function randomBaselineExpected(n: number, d: number): number {
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`randomBaselineExpected: 'n' must be an integer >= 2, got ${n}`);
  if (!(Number.isInteger(d) && d >= 1)) throw new Error(`randomBaselineExpected: 'd' must be an integer >= 1, got ${d}`);
  return Math.min(1, d / (n - 1));
}

/** Result of {@link randomBaseline}. */
export interface RandomBaseline {
  mean: number;
  /** Sample standard deviation over trials (NaN for one trial). */
  std: number;
  scores: number[];
  expected: number;
}

/**
 * Empirical random baseline: the linearity score of independent standard normal X, Y [n, d]
 * (seeded; generated in blocks of rows, so memory stays O(d^2)). Default seed 0, 1 trial.
 */
export function randomBaseline(n: number, d: number, opts: { seed?: number; trials?: number; rcond?: number } = {}): RandomBaseline {
  const expected = randomBaselineExpected(n, d);
  const trials = opts.trials ?? 1;
  if (!(Number.isInteger(trials) && trials >= 1)) throw new Error(`randomBaseline: 'trials' must be an integer >= 1, got ${trials}`);
  const scores: number[] = [];
  for (let t = 0; t < trials; t++) {
    const rng = normalRng(((opts.seed ?? 0) + 0x9e3779b9 * t) >>> 0);
    const acc = new LinearityAccumulator(d, d, { fn: "randomBaseline", rcond: opts.rcond });
    const block = 1024;
    for (let r0 = 0; r0 < n; r0 += block) {
      const r = Math.min(n, r0 + block) - r0;
      acc.add(fillNormal(new Float32Array(r * d), rng), fillNormal(new Float32Array(r * d), rng));
    }
    scores.push(acc.result().score);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / trials;
  const std = trials > 1 ? Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / (trials - 1)) : NaN;
  return { mean, std, scores, expected };
}
