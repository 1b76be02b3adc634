import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { randomBaseline, randomBaselineExpected } from "../../lib/metrics";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("random baseline", () => {
  it("expected value d/(n-1), as the original's 0.0334 for 22,986 x 768", () => {
    expect(Math.abs(randomBaselineExpected(22986, 768) - 0.03341) ).toBeLessThan(1e-5);
    expect(randomBaselineExpected(10, 20)).toBe(1);
  });

  it("empirical mean of random pairs is near d/(n-1), reproducible by seed", () => {
    const b = randomBaseline(400, 16, { seed: 3, trials: 12 });
    // One trial's sd is about sqrt(2 d)/n; the mean of 12 is well inside 4 sd of the mean.
    const sd = Math.sqrt(2 * 16) / 400 / Math.sqrt(12);
    expect(Math.abs(b.mean - 16 / 399)).toBeLessThan(4 * sd);
    expect(b.scores.length).toBe(12);
    expect(b.std).toBeGreaterThan(0);
    const again = randomBaseline(400, 16, { seed: 3, trials: 2 });
    expect(again.scores[0]).toBe(b.scores[0]);
    expect(randomBaseline(400, 16, { seed: 4 }).scores[0]).not.toBe(b.scores[0]);
    expect(Number.isNaN(randomBaseline(50, 4).std)).toBe(true);
  });

  it("rejects bad sizes", () => {
    expect(() => randomBaselineExpected(1, 4)).toThrow("randomBaselineExpected: 'n' must be an integer >= 2, got 1");
    expect(() => randomBaselineExpected(10, 0)).toThrow("randomBaselineExpected: 'd' must be an integer >= 1, got 0");
    expect(() => randomBaseline(10, 2, { trials: 0 })).toThrow("randomBaseline: 'trials' must be an integer >= 1, got 0");
  });
});
