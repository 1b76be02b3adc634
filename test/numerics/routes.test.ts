/**
 * The route decision of the fallback (route: "auto", the default, without the native BLAS): the
 * condition-number estimate, the rule, the decision it takes on a well- and an ill-conditioned X,
 * and the accuracy of both routes against the float64 SVD reference (test/numerics/reference.ts).
 * With the native BLAS, "auto" takes the float64 route for every state (last block).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { LinearityAccumulator, LinearityMatrixAccumulator } from "../../lib/metrics";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { FLOAT32_MAX_PREDICTED, needsFloat64 } from "../../lib/numerics";
import { conditionEstimate, factorGram } from "../../lib/numerics/solve";
import { Mat, asFloat32, flat, gaussianMatrix, matmul, refScore } from "./reference";

const close = (a: number, b: number, tol: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

/** Orthonormal rows (Gram-Schmidt) of a square Gaussian matrix. */
function orthonormal(d: number, seed: number): Mat {
  const q: number[][] = [];
  for (const r of gaussianMatrix(d, d, seed)) {
    const v = r.slice();
    for (const u of q) {
      const dot = v.reduce((s, x, k) => s + x * u[k], 0);
      for (let k = 0; k < d; k++) v[k] -= dot * u[k];
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    q.push(v.map((x) => x / norm));
  }
  return q;
}

/**
 * X [n, d] = Z diag(sv) Q + 3 with singular values from 1 down to 1/sqrt(kappa) (so its Gram has
 * condition number ~kappa), Y = tanh(X W) + 0.3 noise. float32-representable.
 */
function conditionedPair(n: number, d: number, kappa: number, seed: number): { x: Mat; y: Mat } {
  const sv = Array.from({ length: d }, (_, k) => Math.pow(kappa, (-0.5 * k) / (d - 1)));
  const z = gaussianMatrix(n, d, seed).map((r) => r.map((v, k) => v * sv[k]));
  const x = asFloat32(matmul(z, orthonormal(d, seed + 1)).map((r) => r.map((v) => v + 3)));
  const w = gaussianMatrix(d, d, seed + 2), e = gaussianMatrix(n, d, seed + 3);
  const y = asFloat32(matmul(x, w).map((r, i) => r.map((v, j) => Math.tanh(v) + 0.3 * e[i][j])));
  return { x, y };
}

/** The fallback routes (native: false), whatever this machine has. */
function score(x: Mat, y: Mat, route?: "auto" | "float32" | "float64") {
  const acc = new LinearityAccumulator(x[0].length, y[0].length, route === undefined ? { native: false } : { route, native: false });
  acc.add(flat(x), flat(y));
  return acc.result();
}

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("conditionEstimate", () => {
  it("gives (1 + r) / (1 - r) for a 2 x 2 correlation matrix, whatever the column scales", () => {
    for (const r of [0, 0.5, 0.9, -0.99]) {
      const s = [1e3, 1e-2];
      const C = Float64Array.from([s[0] * s[0], r * s[0] * s[1], r * s[0] * s[1], s[1] * s[1]]);
      const exact = (1 + Math.abs(r)) / (1 - Math.abs(r));
      expect(Math.abs(conditionEstimate(factorGram(C, 2, { rcond: 1e-6 })) - exact)).toBeLessThan(1e-6 * exact);
    }
  });

  it("a dependent column is cut (eigen path): the estimate is that of the kept part", () => {
    const C = Float64Array.from([1, 1, 0, 1, 1, 0, 0, 0, 1]);
    const f = factorGram(C, 3, { rcond: 1e-3 });
    expect(f.kind).toBe("eigen");
    expect(f.rank).toBe(2);
    expect(f.cut.count).toBe(1);
    // Kept eigenvalues of [[1,1,0],[1,1,0],[0,0,1]]: 2 and 1.
    expect(Math.abs(conditionEstimate(f) - 2)).toBeLessThan(1e-12);
  });
});

describe("needsFloat64 (the auto rule)", () => {
  it("takes float64 above cond * 2^-24 * sqrt(blockRows) = FLOAT32_MAX_PREDICTED, and on Infinity or NaN", () => {
    const limit = FLOAT32_MAX_PREDICTED / (2 ** -24 * Math.sqrt(256));
    expect(needsFloat64(0.99 * limit, 256)).toBe(false);
    expect(needsFloat64(1.01 * limit, 256)).toBe(true);
    expect(needsFloat64(Infinity, 256)).toBe(true);
    expect(needsFloat64(NaN, 256)).toBe(true);
  });
});

describe('route "auto" against the float64 reference', () => {
  const good = conditionedPair(2000, 16, 4, 11);
  const bad = conditionedPair(2000, 16, 1e7, 21);

  it("keeps the float32 route on a well-conditioned X, within 1e-6 of the reference", () => {
    const r = score(good.x, good.y);
    expect(r.route).toBe("float32");
    expect(r.conditionEstimate).toBeGreaterThan(1);
    expect(r.conditionEstimate).toBeLessThan(10);
    close(r.score, refScore(good.x, good.y, 1e-5), 1e-6);
  });

  it("takes the float64 route on an ill-conditioned X (cond ~1e7) and stays within 1e-6", () => {
    const r = score(bad.x, bad.y);
    expect(r.route).toBe("float64");
    expect(r.conditionEstimate).toBeGreaterThan(1e6);
    // rcond 1e-5 of the equilibrated X: the reference cuts on the same matrix.
    const eq = (m: Mat) => {
      const n = m.length, d = m[0].length;
      const mean = Array.from({ length: d }, (_, j) => m.reduce((s, r) => s + r[j], 0) / n);
      const norm = Array.from({ length: d }, (_, j) => Math.sqrt(m.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0)));
      return m.map((r) => r.map((v, j) => (v - mean[j]) / norm[j]));
    };
    close(r.score, refScore(eq(bad.x), bad.y, 1e-5), 1e-6);
  });

  it("honours a forced route", () => {
    expect(score(good.x, good.y, "float64").route).toBe("float64");
    const plain = score(bad.x, bad.y, "float32");
    expect(plain.route).toBe("float32");
    expect(Number.isNaN(plain.conditionEstimate)).toBe(true);
  });

  it("decides per source state in the all-pairs matrix", () => {
    // states: [ill-conditioned, well-conditioned, anything]: only state 0 takes float64; the last is never a source.
    const acc = new LinearityMatrixAccumulator(3, 16, { native: false });
    acc.add([flat(bad.x), flat(good.x), flat(good.y)]);
    const res = acc.result();
    expect(res.routes).toEqual(["float64", "float32", "float32"]);
  });
});

const blas = nativeBlas();
if (!blas) console.warn(`test/numerics/routes.test.ts: native-route tests SKIPPED, ${nativeBlasStatus()}`);

describe.skipIf(!blas)('route "auto" on the native BLAS', () => {
  const good = conditionedPair(2000, 16, 4, 11);
  const bad = conditionedPair(2000, 16, 1e7, 21);

  it("takes float64 for every source state, with no warm-up estimate, within 1e-6 of the reference", () => {
    for (const { x, y } of [good, bad]) {
      const acc = new LinearityAccumulator(16, 16);
      acc.add(flat(x), flat(y));
      const r = acc.result();
      expect(r.route).toBe("float64");
      expect(r.native).toBe(true);
      expect(Number.isNaN(r.conditionEstimate)).toBe(true);
    }
    const m = new LinearityMatrixAccumulator(3, 16);
    m.add([flat(bad.x), flat(good.x), flat(good.y)]);
    expect(m.result().routes).toEqual(["float64", "float64", "float32"]);
    const g = score(good.x, good.y, "float64").score;
    const acc = new LinearityAccumulator(16, 16);
    acc.add(flat(good.x), flat(good.y));
    close(acc.result().score, refScore(good.x, good.y, 1e-5), 1e-6);
    close(acc.result().score, g, 1e-12);
  });

  it("still honours a forced float32 route (tfjs matmuls)", () => {
    const acc = new LinearityAccumulator(16, 16, { route: "float32" });
    acc.add(flat(good.x), flat(good.y));
    expect(acc.result().route).toBe("float32");
    close(acc.result().score, refScore(good.x, good.y, 1e-5), 1e-6);
  });
});
