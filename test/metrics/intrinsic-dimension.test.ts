import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset";
import { intrinsicDimension, twoNNFit, twoNNFromDistances } from "../../lib/metrics/intrinsic-dimension";
import { twoNearestNeighbours } from "../../lib/metrics/neighbours";
import { randomOrthogonal, refTwoNN, refTwoNNMicroscope, rowsOf, xorshift } from "./reference";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** n points uniform in a k-dimensional unit cube, rotated into d dimensions and shifted. */
function cube(n: number, k: number, d: number, seed: number): Float32Array {
  const rand = xorshift(seed);
  const q = randomOrthogonal(d, rand);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const p = Array.from({ length: k }, () => rand());
    for (let c = 0; c < d; c++) {
      let v = 3; // a common offset, as hidden states have
      for (let a = 0; a < k; a++) v += p[a] * q[a][c];
      out[i * d + c] = v;
    }
  }
  return out;
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe("intrinsicDimension (TwoNN)", () => {
  it("gives about 5 on points filling a 5-dimensional cube in 24 dimensions, equal to the float64 reference", () => {
    const x = cube(1500, 5, 24, 1);
    const ref = refTwoNN(rowsOf(x, 24), 0.9);
    const got = intrinsicDimension(x, 24, { blockRows: 256 });
    expect(Math.abs(got.dimension - 5)).toBeLessThan(0.5);
    expect(rel(got.dimension, ref.dimension)).toBeLessThan(1e-9);
    expect(got).toMatchObject({ tokens: 1500, duplicates: 0, fitted: 1350 });
    // LLM-Microscope's keep fraction 0.2
    const low = intrinsicDimension(x, 24, { keepFraction: 0.2 });
    expect(rel(low.dimension, refTwoNN(rowsOf(x, 24), 0.2).dimension)).toBeLessThan(1e-9);
  });

  it("drops duplicated rows (r1 = 0), as the reference does", () => {
    const d = 10;
    const base = cube(400, 3, d, 2);
    // Rows 0..49 appear twice and row 7 five times in all.
    const rows = [...Array(400).keys(), ...Array(50).keys(), 7, 7, 7];
    const x = new Float32Array(rows.length * d);
    rows.forEach((r, i) => x.set(base.subarray(r * d, (r + 1) * d), i * d));
    const ref = refTwoNN(rowsOf(x, d), 0.9);
    const got = intrinsicDimension(x, d, { blockRows: 64 });
    expect(got.duplicates).toBe(100 + 3); // 50 pairs, plus the three extra copies of row 7
    expect(ref.dropped).toBe(got.duplicates);
    expect(rel(got.dimension, ref.dimension)).toBeLessThan(1e-9);
  });

  it("stays exact when the candidates cannot prove a row and it is rescanned", () => {
    const x = cube(600, 4, 16, 3);
    const nn = twoNearestNeighbours(x, 16, { candidates: 2, blockRows: 100 });
    const pts = rowsOf(x, 16);
    let worst = 0;
    for (let i = 0; i < pts.length; i++) {
      const ds = pts.flatMap((p, j) => (j === i ? [] : [Math.sqrt(p.reduce((s, v, c) => s + (v - pts[i][c]) ** 2, 0))])).sort((a, b) => a - b);
      worst = Math.max(worst, Math.abs(nn.r1[i] - ds[0]) / ds[0], Math.abs(nn.r2[i] - ds[1]) / ds[1]);
    }
    expect(worst).toBeLessThan(1e-12);
    expect(nn.rescanned).toBeGreaterThan(0); // with 2 candidates the proof fails for some rows
  });

  it("matches the float64 reference within 1e-3 relative on a shipped hidden state", () => {
    const ds = HiddenStateDataset.open(path.join(__dirname, "..", "..", "data-samples", "hidden-states"));
    const x = ds.rows(3, 0, 2000);
    const ref = refTwoNN(rowsOf(x, ds.dModel), 0.9);
    const got = intrinsicDimension(x, ds.dModel);
    expect(got.duplicates).toBe(ref.dropped);
    expect(rel(got.dimension, ref.dimension)).toBeLessThan(1e-3);
    // maxTokens takes the first rows
    const first = intrinsicDimension(ds.rows(3, 0, 4000), ds.dModel, { maxTokens: 2000 });
    expect(first.dimension).toBe(got.dimension);
  });

  it("rejects bad options with a message naming them", () => {
    const x = cube(50, 2, 4, 4);
    expect(() => intrinsicDimension(x, 4, { keepFraction: 0 })).toThrow("intrinsicDimension: keepFraction must be in (0, 1], got 0");
    expect(() => intrinsicDimension(x.subarray(0, 8), 4)).toThrow("needs at least 3 rows");
    // nothing left to fit once duplicates are dropped: NaN, not a number made up
    expect(twoNNFromDistances([0, 0, 0], [1, 1, 1])).toEqual({ dimension: NaN, duplicates: 3, ties: 0, fitted: 0, undefinedReason: "0 points to fit, needs 2" });
    expect(twoNNFromDistances([0, 1, 0, 2], [1, 2, 1, 3], 0.9).fitted).toBe(1);
    expect(twoNNFromDistances([0, 1, 0, 2], [1, 2, 1, 3], 0.9).dimension).toBeNaN();
    const bad = x.slice();
    bad[13] = NaN;
    expect(() => intrinsicDimension(bad, 4)).toThrow("has NaN at row 3, column 1");
    expect(() => intrinsicDimension(x, 4, { estimator: "other" as never })).toThrow("intrinsicDimension: estimator must be one of standard, llm-microscope, got 'other'");
    expect(() => twoNNFromDistances([1, 1], [2, 2], { estimator: "llm-microscope" })).toThrow("needs scale");
  });
});

describe("LLM-Microscope's TwoNN estimator (estimator: llm-microscope)", () => {
  it("equals a brute-force port of its intrinsic_dimension on a 5-dimensional cube, and differs from the standard estimator", () => {
    const x = cube(1500, 5, 24, 5);
    const ref = refTwoNNMicroscope(rowsOf(x, 24));
    const got = intrinsicDimension(x, 24, { estimator: "llm-microscope" }); // keep 0.2 by default, as N // 5
    expect(rel(got.dimension, ref.dimension)).toBeLessThan(1e-9);
    expect(got.fitted).toBe(ref.fitted);
    expect(got.fitted).toBe(300);
    const standard = intrinsicDimension(x, 24, { keepFraction: 0.2 });
    expect(rel(standard.dimension, refTwoNN(rowsOf(x, 24), 0.2).dimension)).toBeLessThan(1e-9);
    // With no duplicates and no ties, F differs only by the +1 of the rank: (1 + i)/N against i/N.
    expect(Math.abs(got.dimension - standard.dimension)).toBeGreaterThan(1e-3);
  });

  it("counts duplicates and ties (mu = 1) in F as the reference does", () => {
    const d = 6;
    const base = cube(500, 3, d, 6);
    // Rows 0..59 twice; and 20 far-away triples p - e0, p, p + e0 (exact in float32): p's two
    // nearest neighbours are at distance 1 both, a tie mu = 1.
    const rows: number[][] = [...rowsOf(base, d), ...rowsOf(base.subarray(0, 60 * d), d)];
    for (let k = 0; k < 20; k++) {
      const p = [50 + 10 * k, 50, 0, 0, 0, 0];
      rows.push(p, p.map((v, c) => (c === 0 ? v - 1 : v)), p.map((v, c) => (c === 0 ? v + 1 : v)));
    }
    const x = Float32Array.from(rows.flat());
    const ref = refTwoNNMicroscope(rowsOf(x, d));
    const got = intrinsicDimension(x, d, { estimator: "llm-microscope", blockRows: 128 });
    expect(got.duplicates).toBe(120);
    // 20 triple centres, plus the rows whose nearest neighbour is a duplicated row (both copies tie)
    expect(got.ties).toBeGreaterThan(20);
    expect(got.duplicates + got.ties).toBe(ref.dropped);
    // The standard estimator drops the duplicates only and keeps the ties in its fit.
    const standard = intrinsicDimension(x, d);
    expect([standard.duplicates, standard.ties]).toEqual([120, 0]);
    expect(rel(standard.dimension, refTwoNN(rowsOf(x, d), 0.9).dimension)).toBeLessThan(1e-9);
    expect(rel(got.dimension, ref.dimension)).toBeLessThan(1e-9);
    // keep fraction 0.5 = reduction 2
    const half = intrinsicDimension(x, d, { estimator: "llm-microscope", keepFraction: 0.5 });
    expect(rel(half.dimension, refTwoNNMicroscope(rowsOf(x, d), 2).dimension)).toBeLessThan(1e-9);
  });

  it("on a shipped state, from the same neighbours (twoNNFit), matches the reference within 1e-9", () => {
    const ds = HiddenStateDataset.open(path.join(__dirname, "..", "..", "data-samples", "hidden-states"));
    const x = ds.rows(2, 0, 1500);
    const nn = twoNearestNeighbours(x, ds.dModel);
    const ref = refTwoNNMicroscope(rowsOf(x, ds.dModel));
    expect(rel(twoNNFit(nn, { estimator: "llm-microscope" }).dimension, ref.dimension)).toBeLessThan(1e-9);
    expect(rel(twoNNFit(nn, { keepFraction: 0.2 }).dimension, refTwoNN(rowsOf(x, ds.dModel), 0.2).dimension)).toBeLessThan(1e-9);
  });
});

describe("an undefined dimension is NaN with a reason, never an exception", () => {
  // The smallest case: two copies of the origin; every other row's two nearest neighbours are those copies.
  const tiny = Float32Array.from([0, 0, 0, 0, 1, 0, 0, 2, -3, 0]);
  it.each([["standard"], ["llm-microscope"]] as const)("every mu = 1 (%s)", (estimator) => {
    const r = intrinsicDimension(tiny, 2, { estimator });
    expect(r.dimension).toBeNaN();
    expect(r.undefinedReason).toBe("every mu = 1");
    expect(r.duplicates).toBe(2);
  });

  it("too few points to fit", () => {
    expect(twoNNFromDistances([0, 1, 0, 2], [1, 2, 1, 3], 0.9)).toMatchObject({ fitted: 1, undefinedReason: "1 point to fit, needs 2" });
    // llm-microscope fits min(N // 5, N - 1) points: 4 distinct points give 0.
    expect(twoNNFromDistances([1, 1, 1, 1], [2, 3, 4, 5], { estimator: "llm-microscope", scale: 1 })).toMatchObject({ fitted: 0, undefinedReason: "0 points to fit, needs 1" });
  });
});
