import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset";
import { AnisotropyAccumulator, anisotropy } from "../../lib/metrics/anisotropy";
import { topEigenvalue } from "../../lib/metrics/top-eigenvalue";
import { randomOrthogonal, refAnisotropy, refSymmetricEigenvalues, rowsOf, xorshift, type Mat } from "./reference";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/**
 * n rows whose centred covariance has exactly the singular values s (up to float32 rounding):
 * X = mean + U diag(s) Q^T with U [n, d] orthonormal and centred columns, Q orthogonal.
 */
function knownSpectrum(n: number, s: number[], seed: number, offset = 5): Float32Array {
  const d = s.length;
  const rand = xorshift(seed);
  const cols: number[][] = [Array(n).fill(1 / Math.sqrt(n))]; // orthogonal to the constant: centred
  while (cols.length < d + 1) {
    let v = Array.from({ length: n }, () => rand() - 0.5);
    for (const u of cols) {
      const p = v.reduce((a, x, i) => a + x * u[i], 0);
      v = v.map((x, i) => x - p * u[i]);
    }
    const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    cols.push(v.map((x) => x / norm));
  }
  const q = randomOrthogonal(d, rand);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      let v = offset * (1 + c / d);
      for (let k = 0; k < d; k++) v += cols[k + 1][i] * s[k] * q[k][c];
      out[i * d + c] = v;
    }
  }
  return out;
}

describe("anisotropy", () => {
  it("equals s_max^2 / sum s^2 for data built with known singular values", () => {
    for (const s of [
      [10, 1, 1, 1, 1, 1, 1, 1], // one dominant direction
      [1, 1, 1, 1, 1, 1, 1, 1], // round: 1/d
      [3, 2.999, 1, 0.5, 0.1, 0.1, 0.01, 0], // near-degenerate top pair, rank deficient
    ]) {
      const x = knownSpectrum(300, s, 7);
      const want = Math.max(...s.map((v) => v * v)) / s.reduce((a, v) => a + v * v, 0);
      expect(Math.abs(anisotropy(x, s.length).anisotropy - want)).toBeLessThan(1e-6);
    }
  });

  it("matches a float64 Jacobi-eigenvalue reference on a shipped state, streamed in chunks", () => {
    const ds = HiddenStateDataset.open(path.join(__dirname, "..", "..", "data-samples", "hidden-states"));
    for (const state of [0, 4]) {
      const x = ds.rows(state, 0, 2000);
      const ref = refAnisotropy(rowsOf(x, ds.dModel));
      const acc = new AnisotropyAccumulator(ds.dModel, { blockRows: 512 });
      for (let r = 0; r < 2000; r += 700) acc.add(x.subarray(r * ds.dModel, Math.min(2000, r + 700) * ds.dModel));
      const got = acc.result();
      expect(got.tokens).toBe(2000);
      expect(Math.abs(got.anisotropy - ref)).toBeLessThan(1e-6);
    }
  });

  it("rejects constant data and NaN with clear messages", () => {
    expect(() => anisotropy(new Float32Array(40).fill(2), 4)).toThrow("anisotropy: 'x' has no variance");
    const x = knownSpectrum(20, [1, 2, 3], 1);
    x[7] = NaN;
    expect(() => anisotropy(x, 3)).toThrow("row 2, column 1");
  });
});

describe("topEigenvalue (Lanczos)", () => {
  it("finds the largest eigenvalue of matrices with known spectra, including clustered ones", () => {
    const rand = xorshift(11);
    for (const spectrum of [
      Array.from({ length: 60 }, (_, i) => 1 + i / 59), // flat: power iteration would crawl
      Array.from({ length: 60 }, (_, i) => (i === 0 ? 100 : Math.exp(-i / 5))),
      [...Array(40).fill(1), 1 + 1e-6], // gap of 1e-6
    ]) {
      const d = spectrum.length;
      const q = randomOrthogonal(d, rand);
      const a: Mat = Array.from({ length: d }, (_, i) =>
        Array.from({ length: d }, (_, j) => spectrum.reduce((s, l, k) => s + q[k][i] * l * q[k][j], 0)),
      );
      const got = topEigenvalue(Float64Array.from(a.flat()), d).value;
      const want = Math.max(...spectrum);
      expect(Math.abs(got - want) / want).toBeLessThan(1e-10);
      // and the test's own Jacobi reference agrees with the construction
      expect(Math.abs(Math.max(...refSymmetricEigenvalues(a)) - want) / want).toBeLessThan(1e-10);
    }
  });
});
