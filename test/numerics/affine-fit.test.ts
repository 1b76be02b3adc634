/**
 * AffineFitAccumulator against a float64 reference written here (centred least squares through
 * the Jacobi-SVD pinv of test/numerics/reference.ts, bias from the means): recovery of an exact
 * affine map, a noisy fit, chunked streaming, an ill-conditioned x (float64 route) and errors.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { AffineFitAccumulator } from "../../lib/numerics/affine-fit";
import { asFloat32, flat, gaussianMatrix, matmul, refPinvSolve, type Mat } from "./reference";

/** Centred pinv fit with bias, float64: W = pinv(x - mx) (y - my), b = my - mx W. */
function referenceAffine(x: Mat, y: Mat): { W: Mat; b: number[]; r2: number } {
  const n = x.length;
  const mean = (m: Mat) => m[0].map((_, j) => m.reduce((s, r) => s + r[j], 0) / n);
  const mx = mean(x), my = mean(y);
  const xc = x.map((r) => r.map((v, j) => v - mx[j])), yc = y.map((r) => r.map((v, j) => v - my[j]));
  const W = refPinvSolve(xc, yc);
  const b = my.map((v, c) => v - mx.reduce((s, m, a) => s + m * W[a][c], 0));
  const fit = matmul(xc, W);
  let res = 0, tot = 0;
  yc.forEach((r, i) => r.forEach((v, j) => { res += (fit[i][j] - v) ** 2; tot += v * v; }));
  return { W, b, r2: 1 - res / tot };
}

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const maxAbs = (a: ArrayLike<number>, b: number[]) => Math.max(...b.map((v, i) => Math.abs(a[i] - v)));

describe("AffineFitAccumulator", () => {
  it("recovers an exact affine map, streamed in uneven chunks", () => {
    const n = 300, d = 6, m = 4;
    const x = asFloat32(gaussianMatrix(n, d, 3).map((r) => r.map((v, j) => 2 + v * (1 + j))));
    const W = gaussianMatrix(d, m, 4), b = [0.5, -1, 2, 0.25];
    const y = asFloat32(matmul(x, W).map((r) => r.map((v, c) => v + b[c])));
    const acc = new AffineFitAccumulator(d, m);
    acc.add(flat(x.slice(0, 7)), flat(y.slice(0, 7)));
    acc.add(flat(x.slice(7, 180)), flat(y.slice(7, 180)));
    acc.add(flat(x.slice(180)), flat(y.slice(180)));
    const fit = acc.result();
    expect(fit.rows).toBe(n);
    expect(fit.rank).toBe(d);
    expect(maxAbs(fit.weight, W.flat())).toBeLessThan(1e-4);
    expect(maxAbs(fit.bias, b)).toBeLessThan(1e-4);
    expect(fit.r2).toBeGreaterThan(1 - 1e-6);
  });

  it("matches the float64 pinv fit on noisy data", () => {
    const n = 250, d = 5, m = 5;
    const x = asFloat32(gaussianMatrix(n, d, 8));
    const y = asFloat32(matmul(x, gaussianMatrix(d, m, 9)).map((r, i) => r.map((v, j) => v + 0.5 * Math.sin(3 * x[i][j]) + 1)));
    const acc = new AffineFitAccumulator(d, m);
    acc.add(flat(x), flat(y));
    const fit = acc.result();
    const ref = referenceAffine(x, y);
    expect(maxAbs(fit.weight, ref.W.flat())).toBeLessThan(1e-5);
    expect(maxAbs(fit.bias, ref.b)).toBeLessThan(1e-5);
    expect(Math.abs(fit.r2 - ref.r2)).toBeLessThan(1e-6);
    expect(fit.r2).toBeLessThan(0.999); // the sine makes it inexact
  });

  it("fits an ill-conditioned x (columns 1e3 apart, near-collinear) through the float64 route", () => {
    const n = 400, d = 4, m = 2;
    const g = gaussianMatrix(n, d, 21);
    const x = asFloat32(g.map((r) => [r[0] * 1000, r[1], r[1] + 1e-2 * r[2], r[3]]));
    const y = asFloat32(g.map((r) => [r[0] + r[2], 0.5 * r[3] - r[1]]));
    const acc = new AffineFitAccumulator(d, m, { route: "float64" });
    acc.add(flat(x), flat(y));
    const fit = acc.result();
    const ref = referenceAffine(x, y);
    // Predictions, not weights, are the stable comparison under near-collinearity.
    let worst = 0;
    for (const r of x.slice(0, 50)) {
      for (let c = 0; c < m; c++) {
        const p = fit.bias[c] + r.reduce((s, v, a) => s + v * fit.weight[a * m + c], 0);
        const q = ref.b[c] + r.reduce((s, v, a) => s + v * ref.W[a][c], 0);
        worst = Math.max(worst, Math.abs(p - q));
      }
    }
    expect(worst).toBeLessThan(1e-3);
  });

  it("refuses no rows and a constant y", () => {
    expect(() => new AffineFitAccumulator(2, 1).result()).toThrow("no rows were added");
    const acc = new AffineFitAccumulator(2, 1, { fn: "fitAffine", names: ["resid_pre", "resid_post"] });
    acc.add(Float32Array.from([1, 2, 3, 4, 5, 7]), Float32Array.from([1, 1, 1]));
    expect(() => acc.result()).toThrow("fitAffine: 'resid_post' has no variance");
  });
});
