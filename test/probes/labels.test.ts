import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { labelProbe } from "../../lib/probes/labels";
import { splitTrainTest } from "../../lib/probes/split";
import { mulberry32 } from "../../lib/probes/random";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Gaussian noise from a seeded uniform generator (Box-Muller). */
function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Overlapping classes: row = centre of its class + noise, in d dims; labels "a", "b", "c" with unequal counts. */
function data(n: number, d: number, noise: number, seed: number): { x: Float32Array; labels: string[] } {
  const rand = mulberry32(seed);
  const centres = [[1, 0, 0.5], [0, 1, -0.5], [-1, -1, 0]].map((c) => Array.from({ length: d }, (_, k) => c[k % 3]));
  const names = ["a", "b", "c"];
  const x = new Float32Array(n * d);
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    const u = rand();
    const c = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
    labels.push(names[c]);
    for (let k = 0; k < d; k++) x[i * d + k] = Math.fround(centres[c][k] + noise * gaussian(rand));
  }
  return { x, labels };
}

/** float64 reference: least squares of centred one-hot on centred x (normal equations, Gauss-Jordan), argmax. */
function referencePredictions(x: Float32Array, d: number, labels: string[], train: Int32Array, test: Int32Array, classes: string[]): string[] {
  const k = classes.length;
  const mx = new Array(d).fill(0), my = new Array(k).fill(0);
  for (const r of train) {
    for (let j = 0; j < d; j++) mx[j] += x[r * d + j] / train.length;
    my[classes.indexOf(labels[r])] += 1 / train.length;
  }
  // [X^T X | X^T Y] on centred rows, then Gauss-Jordan with partial pivoting.
  const m = Array.from({ length: d }, () => new Array(d + k).fill(0));
  for (const r of train) {
    const xc = Array.from({ length: d }, (_, j) => x[r * d + j] - mx[j]);
    const yc = Array.from({ length: k }, (_, c) => (classes[c] === labels[r] ? 1 : 0) - my[c]);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) m[i][j] += xc[i] * xc[j];
      for (let c = 0; c < k; c++) m[i][d + c] += xc[i] * yc[c];
    }
  }
  for (let col = 0; col < d; col++) {
    let piv = col;
    for (let i = col + 1; i < d; i++) if (Math.abs(m[i][col]) > Math.abs(m[piv][col])) piv = i;
    [m[col], m[piv]] = [m[piv], m[col]];
    for (let i = 0; i < d; i++) {
      if (i === col) continue;
      const f = m[i][col] / m[col][col];
      for (let j = col; j < d + k; j++) m[i][j] -= f * m[col][j];
    }
  }
  const a = m.map((row, i) => row.slice(d).map((v) => v / m[i][i])); // [d, k]
  return Array.from(test, (r) => {
    let best = 0, bestV = -Infinity;
    for (let c = 0; c < k; c++) {
      let v = my[c];
      for (let j = 0; j < d; j++) v += (x[r * d + j] - mx[j]) * a[j][c];
      if (v > bestV) [best, bestV] = [c, v];
    }
    return classes[best];
  });
}

describe("labelProbe", () => {
  it("matches a float64 least-squares classifier on overlapping classes", () => {
    const d = 4, n = 600;
    const { x, labels } = data(n, d, 0.9, 1);
    const split = splitTrainTest(n, { testFraction: 0.3, seed: 0 });
    const r = labelProbe(x, d, labels, split);
    expect(r.classes).toEqual(["a", "b", "c"]);
    const ref = referencePredictions(x, d, labels, split.train, split.test, r.classes);
    const refAccuracy = ref.filter((p, i) => p === labels[split.test[i]]).length / split.test.length;
    expect(Math.abs(r.testAccuracy - refAccuracy)).toBeLessThan(1e-12);
    // Overlap makes the task neither trivial nor hopeless, and the probe beats the majority guess.
    expect(r.testAccuracy).toBeGreaterThan(r.majorityAccuracy + 0.1);
    expect(r.testAccuracy).toBeLessThan(0.99);
    expect(r.nTrain + r.nTest).toBe(n);
  });

  it("is near the majority guess when the labels do not depend on x", () => {
    const d = 4, n = 2000;
    const { x } = data(n, d, 1, 2);
    const { labels } = data(n, d, 1, 3); // labels of other rows: independent of x
    const r = labelProbe(x, d, labels, splitTrainTest(n, { seed: 0 }));
    expect(Math.abs(r.testAccuracy - r.majorityAccuracy)).toBeLessThan(0.05);
  });

  it("rejects a size mismatch, a single class and a test label unseen in training", () => {
    const split = { train: Int32Array.from([0, 1]), test: Int32Array.from([2]) };
    expect(() => labelProbe(new Float32Array(5), 2, ["a", "b", "a"], split)).toThrow(/'x' has 5 values, expected labels.length x d_model = 3 x 2/);
    expect(() => labelProbe(new Float32Array(6), 2, ["a", "a", "a"], split)).toThrow(/a probe needs at least 2/);
    expect(() => labelProbe(new Float32Array(6), 2, ["a", "b", "c"], split)).toThrow(/test row 2 has label 'c', which no train row has/);
  });
});
