import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset";
import { intrinsicDimension, twoNNFromDistances } from "../../lib/metrics/intrinsic-dimension";
import { twoNearestNeighbours } from "../../lib/metrics/neighbours";
import { randomOrthogonal, refTwoNN, rowsOf, xorshift } from "./reference";

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
    expect(twoNNFromDistances([0, 0, 0], [1, 1, 1])).toEqual({ dimension: NaN, duplicates: 3, fitted: 0 });
    expect(twoNNFromDistances([0, 1, 0, 2], [1, 2, 1, 3], 0.9).fitted).toBe(1);
    expect(twoNNFromDistances([0, 1, 0, 2], [1, 2, 1, 3], 0.9).dimension).toBeNaN();
    const bad = x.slice();
    bad[13] = NaN;
    expect(() => intrinsicDimension(bad, 4)).toThrow("has NaN at row 3, column 1");
  });
});
