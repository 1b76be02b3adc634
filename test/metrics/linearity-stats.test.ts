/**
 * Scores with floor, adjusted, cv and jackknife from per-group moments, against an independent
 * brute-force float64 implementation: for every fold / left-out group the least-squares fit is
 * redone from the rows themselves (test/numerics/reference64.ts: Householder QR + Jacobi SVD, no
 * Gram matrix), and the held-out residuals are summed row by row.
 */
import { describe, expect, it } from "vitest";
import { pairStats } from "../../lib/metrics/linearity-stats";
import { MomentAccumulator } from "../../lib/numerics/moment-accumulator";
import type { UnitRule } from "../../lib/numerics/moment-set";
import { gaussianMatrix } from "../numerics/reference";
import { difference, lsqReference } from "../numerics/reference64";

const n = 600, d = 6, dy = 5, G = 12;

/** X [n, d], Y = tanh(X W) + noise, group g(t) in contiguous runs of uneven length, float32 values. */
function data() {
  const x = Float64Array.from(gaussianMatrix(n, d, 1).flat(), (v, k) => Math.fround(v + (k % d === 2 ? 5 : 0)));
  const w = gaussianMatrix(d, dy, 2), e = gaussianMatrix(n, dy, 3);
  const y = new Float64Array(n * dy);
  for (let t = 0; t < n; t++) for (let c = 0; c < dy; c++) {
    let s = 0;
    for (let a = 0; a < d; a++) s += x[t * d + a] * w[a][c];
    y[t * dy + c] = Math.fround(Math.tanh(s) + 0.5 * e[t][c]);
  }
  // Uneven contiguous groups (documents), ids not in order of appearance.
  const groups = new Int32Array(n);
  for (let t = 0; t < n; t++) groups[t] = (Math.floor(((t / n) ** 1.3) * G) * 7) % G;
  return { x, y, groups };
}

function rows(v: Float64Array, width: number, keep: (t: number) => boolean): Float64Array {
  const out: number[] = [];
  for (let t = 0; t < v.length / width; t++) if (keep(t)) for (let c = 0; c < width; c++) out.push(v[t * width + c]);
  return Float64Array.from(out);
}

function means(v: Float64Array, width: number): Float64Array {
  const m = new Float64Array(width), count = v.length / width;
  for (let t = 0; t < count; t++) for (let c = 0; c < width; c++) m[c] += v[t * width + c] / count;
  return m;
}

/** Brute-force K-fold cv: fit on the other folds' rows (reference64), residuals of the held-out rows summed row by row. */
function bruteCv(x: Float64Array, y: Float64Array, groups: Int32Array, K: number, wy: number): number {
  let sse = 0, sst = 0;
  for (let f = 0; f < K; f++) {
    const train = (t: number) => groups[t] % K !== f;
    const xt = rows(x, d, train), yt = rows(y, wy, train);
    const nt = xt.length / d;
    const ref = lsqReference(xt, yt, nt, d, wy, 1e-13);
    const mx = means(xt, d), my = means(yt, wy);
    for (let t = 0; t < n; t++) {
      if (train(t)) continue;
      for (let c = 0; c < wy; c++) {
        let pred = my[c];
        for (let a = 0; a < d; a++) pred += (x[t * d + a] - mx[a]) * ref.map[a * wy + c];
        sse += (y[t * wy + c] - pred) ** 2;
        sst += (y[t * wy + c] - my[c]) ** 2;
      }
    }
  }
  return 1 - sse / sst;
}

function bruteJackknife(x: Float64Array, y: Float64Array, groups: Int32Array, wy: number, score: number) {
  const ids = [...new Set(groups)].sort((a, b) => a - b);
  const s = ids.map((g) => {
    const keep = (t: number) => groups[t] !== g;
    const xt = rows(x, d, keep), yt = rows(y, wy, keep);
    return lsqReference(xt, yt, xt.length / d, d, wy, 1e-13).score;
  });
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const se = Math.sqrt(((s.length - 1) / s.length) * s.reduce((a, v) => a + (v - mean) ** 2, 0));
  return { groups: ids.length, se, ci95: [score - 1.959964 * se, score + 1.959964 * se] };
}

function momentsOf(x: Float64Array, y: Float64Array, groups: Int32Array, unitRule: UnitRule, wy: number, chunk = 97) {
  const acc = new MomentAccumulator({ fn: "test", states: [{ name: "x", dim: d, dtype: "float32" }, { name: "y", dim: wy, dtype: "float32" }], products: [[0, 0], [0, 1]], unitRule });
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const r1 = Math.min(n, r0 + chunk);
    acc.add([Float32Array.from(x.subarray(r0 * d, r1 * d)), Float32Array.from(y.subarray(r0 * wy, r1 * wy))], groups.subarray(r0, r1));
  }
  return acc.result();
}

describe("pairStats against brute-force float64 refits", () => {
  const { x, y, groups } = data();
  const set = momentsOf(x, y, groups, { kind: "group" }, dy);

  it("score, rank, floor and adjusted", () => {
    const s = pairStats(set, 0, 1);
    const ref = lsqReference(x, y, n, d, dy, 1e-13);
    expect(Math.abs(s.score - ref.score)).toBeLessThan(1e-10);
    expect(s.rank).toBe(d);
    expect(s.cut.count).toBe(0);
    expect(Math.abs(s.floor - d / (n - 1))).toBeLessThan(1e-15);
    expect(Math.abs(s.adjusted - (1 - ((1 - s.score) * (n - 1)) / (n - d - 1)))).toBeLessThan(1e-15);
    expect(s.cv).toBeNull();
    expect(s.jackknife).toBeNull();
  });

  for (const K of [2, 3, 4]) {
    it(`cv with ${K} folds (fold = group mod ${K}), plain and residual`, () => {
      const s = pairStats(set, 0, 1, { folds: K });
      expect(Math.abs(s.cv! - bruteCv(x, y, groups, K, dy))).toBeLessThan(1e-10);
      expect(s.cv!).toBeLessThan(s.score); // out of sample is below in sample here
    });
  }

  it("cv of the residual form, and from units merged by group mod 6 (a multiple of the folds)", () => {
    // A Y as wide as X (the residual form needs it): Y's 5 columns and one more.
    const y6 = new Float64Array(n * d);
    for (let t = 0; t < n; t++) for (let c = 0; c < d; c++) y6[t * d + c] = c < dy ? y[t * dy + c] : Math.fround(x[t * d + c] * 0.5 + 0.1 * Math.sin(t));
    const sq = momentsOf(x, y6, groups, { kind: "group mod", modulus: 6 }, d);
    const s = pairStats(sq, 0, 1, { folds: 3, residual: true });
    expect(Math.abs(s.score - lsqReference(x, difference(y6, x), n, d, d, 1e-13).score)).toBeLessThan(1e-10);
    expect(Math.abs(s.cv! - bruteCv(x, difference(y6, x), groups, 3, d))).toBeLessThan(1e-10);
    expect(() => pairStats(sq, 0, 1, { folds: 4 })).toThrow("4 folds need units by group mod a multiple of 4");
  });

  it("leave-one-group-out jackknife", () => {
    const s = pairStats(set, 0, 1, { jackknife: true });
    const b = bruteJackknife(x, y, groups, dy, s.score);
    expect(s.jackknife!.groups).toBe(b.groups);
    expect(Math.abs(s.jackknife!.se - b.se)).toBeLessThan(1e-10);
    expect(Math.abs(s.jackknife!.ci95[0] - b.ci95[0])).toBeLessThan(1e-10);
    expect(Math.abs(s.jackknife!.ci95[1] - b.ci95[1])).toBeLessThan(1e-10);
    expect(s.jackknife!.se).toBeGreaterThan(0);
  });

  it("the chunking of the pass does not matter (1e-12)", () => {
    const other = momentsOf(x, y, groups, { kind: "group" }, dy, 600);
    const a = pairStats(set, 0, 1, { folds: 3, jackknife: true }), b = pairStats(other, 0, 1, { folds: 3, jackknife: true });
    expect(Math.abs(a.score - b.score)).toBeLessThan(1e-12);
    expect(Math.abs(a.cv! - b.cv!)).toBeLessThan(1e-12);
    expect(Math.abs(a.jackknife!.se - b.jackknife!.se)).toBeLessThan(1e-12);
  });

  it("the chance floor is the mean in-sample score of an independent Gaussian Y", () => {
    // 200 trials of n = 120, d = 6: mean score d/(n-1) = 0.0504, sd of the mean ~0.0015.
    let sum = 0;
    const trials = 200, m = 120;
    for (let k = 0; k < trials; k++) {
      const acc = new MomentAccumulator({ fn: "t", states: [{ name: "x", dim: 6, dtype: "float64" }, { name: "y", dim: 1, dtype: "float64" }], products: [[0, 0], [0, 1]] });
      acc.add([Float32Array.from(gaussianMatrix(m, 6, 100 + k).flat()), Float32Array.from(gaussianMatrix(m, 1, 500 + k).flat())]);
      const s = pairStats(acc.result(), 0, 1);
      sum += s.score;
      expect(s.floor).toBeCloseTo(6 / (m - 1), 15);
    }
    expect(Math.abs(sum / trials - 6 / (m - 1))).toBeLessThan(0.006);
  });

  it("errors: cv and jackknife need groups", () => {
    const one = momentsOf(x, y, groups, { kind: "one" }, dy);
    expect(() => pairStats(one, 0, 1, { folds: 2 })).toThrow("cross-validation needs groups");
    expect(() => pairStats(one, 0, 1, { jackknife: true })).toThrow("the jackknife needs at least 2 groups");
  });
});

describe("linearityStats (tensors, the one call)", () => {
  it("equals pairStats of the same moments, and refuses cv without groups", async () => {
    const tf = await import("@tensorflow/tfjs-core");
    const { initBackend } = await import("../../lib/backend");
    const { linearityStats } = await import("../../lib/metrics/linearity-stats-tensor");
    await initBackend({ quiet: true });
    const { x, y, groups } = data();
    const xt = tf.tensor2d(Float32Array.from(x), [n, d]), yt = tf.tensor2d(Float32Array.from(y), [n, dy]);
    const s = linearityStats(xt, yt, { groups, folds: 3, jackknife: true });
    const ref = pairStats(momentsOf(x, y, groups, { kind: "group" }, dy), 0, 1, { folds: 3, jackknife: true });
    expect(Math.abs(s.score - ref.score)).toBeLessThan(1e-12);
    expect(Math.abs(s.cv! - ref.cv!)).toBeLessThan(1e-12);
    expect(Math.abs(s.jackknife!.se - ref.jackknife!.se)).toBeLessThan(1e-12);
    expect(() => linearityStats(xt, yt, { folds: 3 })).toThrow("linearityStats: 'folds' and 'jackknife' need 'groups'");
    xt.dispose();
    yt.dispose();
  });
});
