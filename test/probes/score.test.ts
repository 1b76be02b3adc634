import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { probeScore } from "../../lib/probes/score";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("probeScore", () => {
  it("is 1 for exact predictions and 0 for the column means", () => {
    const y = tf.tensor2d([1, 10, 2, 20, 6, 30], [3, 2]);
    expect(probeScore(y, y)).toBe(1);
    const means = tf.tensor2d([3, 20, 3, 20, 3, 20], [3, 2]);
    expect(Math.abs(probeScore(means, y))).toBeLessThan(1e-12);
  });

  it("is 1 - SSE / SST pooled over columns (hand-computed)", () => {
    // y columns: [1, 2, 3] (mean 2, SST 2) and [0, 0, 3] (mean 1, SST 6); total SST 8.
    const y = tf.tensor2d([1, 0, 2, 0, 3, 3], [3, 2]);
    // residuals: column 0 -> [0, 0, -1]; column 1 -> [1, 0, 0]; SSE 2.
    const pred = tf.tensor2d([1, -1, 2, 0, 4, 3], [3, 2]);
    expect(Math.abs(probeScore(pred, y) - (1 - 2 / 8))).toBeLessThan(1e-12);
  });

  it("can be negative for predictions worse than the mean", () => {
    const y = tf.tensor2d([[1], [2], [3]]);
    const pred = tf.tensor2d([[3], [2], [1]]);
    // SSE 8, SST 2
    expect(Math.abs(probeScore(pred, y) - (1 - 8 / 2))).toBeLessThan(1e-12);
  });

  it("rejects mismatched shapes, NaN and a constant target", () => {
    const y = tf.tensor2d([[1, 2], [3, 4]]);
    expect(() => probeScore(tf.zeros([3, 2]) as tf.Tensor2D, y)).toThrow(
      /probeScore: 'y' expected shape \[tokens=3, d_model=2\], got \[2, 2\]/,
    );
    expect(() => probeScore(tf.zeros([2]) as unknown as tf.Tensor2D, y)).toThrow(/probeScore: 'pred' expected shape \[tokens, d_model\], got \[2\]/);
    expect(() => probeScore(tf.tensor2d([[1, NaN], [3, 4]]), y)).toThrow(/probeScore: 'pred' has NaN at row 0, column 1/);
    expect(() => probeScore(y, tf.tensor2d([[5, 5], [5, 5]]))).toThrow(/probeScore: 'y' is constant over its 2 rows/);
  });
});
