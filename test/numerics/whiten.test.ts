/**
 * Adaptive whitening (whiten: "auto", the default): the condition-number estimate, the rule, the
 * decision it takes on a well- and an ill-conditioned X, and the accuracy of both against the
 * float64 SVD reference (test/tensor/reference.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { AUTO_WHITEN_MAX_PREDICTED, LinearityAccumulator, LinearityMatrixAccumulator, needsWhitening } from "../../lib";
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

function score(x: Mat, y: Mat, whiten?: boolean | "auto") {
  const acc = new LinearityAccumulator(x[0].length, y[0].length, whiten === undefined ? {} : { whiten });
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
      expect(Math.abs(conditionEstimate(factorGram(C, 2, 1e-6)) - exact)).toBeLessThan(1e-6 * exact);
    }
  });

  it("is Infinity when the factor drops a dependent column", () => {
    const C = Float64Array.from([1, 1, 0, 1, 1, 0, 0, 0, 1]);
    expect(conditionEstimate(factorGram(C, 3, 1e-3))).toBe(Infinity);
  });
});

describe("needsWhitening (the auto rule)", () => {
  it("whitens above cond * 2^-24 * sqrt(blockRows) = AUTO_WHITEN_MAX_PREDICTED, and on Infinity or NaN", () => {
    const limit = AUTO_WHITEN_MAX_PREDICTED / (2 ** -24 * Math.sqrt(1024)); // ~1,050 at 1024-row blocks
    expect(needsWhitening(limit * 0.99, 1024)).toBe(false);
    expect(needsWhitening(limit * 1.01, 1024)).toBe(true);
    expect(needsWhitening(limit * 0.99, 4096)).toBe(true); // larger blocks: more float32 error per product
    expect(needsWhitening(Infinity, 1024)).toBe(true);
    expect(needsWhitening(NaN, 1024)).toBe(true);
  });
});

describe('whiten: "auto" against the float64 reference', () => {
  const n = 3000, d = 16;
  const good = conditionedPair(n, d, 1, 101);
  const bad = conditionedPair(n, d, 1e7, 202);

  it("keeps the plain route on a well-conditioned X, within 1e-5 of the reference", () => {
    const r = score(good.x, good.y);
    expect(r.whitened).toBe(false);
    expect(r.conditionEstimate).toBeGreaterThan(1);
    expect(r.conditionEstimate).toBeLessThan(3);
    close(r.score, refScore(good.x, good.y), 1e-5);
  });

  it("whitens an ill-conditioned X (cond ~1e7) and stays within 1e-5 of the reference", () => {
    const r = score(bad.x, bad.y);
    expect(r.whitened).toBe(true);
    expect(r.conditionEstimate).toBeGreaterThan(1e6);
    close(r.score, refScore(bad.x, bad.y), 1e-5);
  });

  it("honours whiten: true and whiten: false", () => {
    expect(score(good.x, good.y, true).whitened).toBe(true);
    const plain = score(bad.x, bad.y, false);
    expect(plain.whitened).toBe(false);
    expect(Number.isNaN(plain.conditionEstimate)).toBe(true);
  });

  it("decides per source state in the all-pairs matrix", () => {
    // states: [ill-conditioned, well-conditioned, anything]: only state 0 is whitened; the last is never a source.
    const m = new LinearityMatrixAccumulator(3, d);
    m.add([flat(bad.x), flat(good.x), flat(good.y)]);
    const res = m.result();
    expect(res.whitened).toEqual([true, false, false]);
    close(res.scores[0][1], refScore(bad.x, good.x), 1e-5);
    close(res.scores[1][2], refScore(good.x, good.y), 1e-5);
  });
});
