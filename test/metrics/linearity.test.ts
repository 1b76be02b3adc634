import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend";
import { linearityScore, linearityScoreResidual, normalize, tokenLinearity } from "../../lib/metrics";
import { leastSquaresMap } from "../../lib/numerics";
import {
  Mat, asFloat32, flat, fromFlat, gaussianMatrix, matmul, refNormalize, refPinvSolve, refScore, refTokenLinearity, sub,
} from "../numerics/reference";

const T = (m: Mat) => tf.tensor2d(flat(m), [m.length, m[0].length]);
const close = (a: number, b: number, tol: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

/** Y = X W + noise, the structure of consecutive hidden states. All values float32-representable. */
function pair(n: number, d: number, dy: number, noise: number, seed: number): { x: Mat; y: Mat } {
  const x = asFloat32(gaussianMatrix(n, d, seed));
  const w = gaussianMatrix(d, dy, seed + 1);
  const e = gaussianMatrix(n, dy, seed + 2);
  const y = asFloat32(matmul(x, w).map((r, i) => r.map((v, j) => v + noise * e[i][j])));
  return { x, y };
}

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("linearityScore against the SVD formula (float64 reference)", () => {
  it("agrees within 1e-5 on well-conditioned data", () => {
    for (const [n, d, dy, noise] of [[300, 12, 12, 1], [200, 8, 5, 0.3], [500, 20, 20, 3]] as const) {
      const { x, y } = pair(n, d, dy, noise, n + d);
      const ref = refScore(x, y);
      expect(ref).toBeGreaterThan(0.05);
      expect(ref).toBeLessThan(0.99);
      close(linearityScore(T(x), T(y)), ref, 1e-5);
    }
  });

  it("gives 1 when y = x A exactly", () => {
    const x = gaussianMatrix(150, 10, 3);
    const y = matmul(x, gaussianMatrix(10, 7, 4));
    close(linearityScore(T(x), T(y)), 1, 1e-6);
  });

  it("is invariant under an invertible transform of x's columns", () => {
    const { x, y } = pair(250, 10, 10, 1, 11);
    const M = gaussianMatrix(10, 10, 12).map((r, i) => r.map((v, j) => v + (i === j ? 3 : 0)));
    const a = linearityScore(T(x), T(y));
    close(linearityScore(T(asFloat32(matmul(x, M))), T(y)), a, 1e-5);
  });

  it("stays correct with columns 1000x larger (and 1000x smaller) than the rest", () => {
    const { x, y } = pair(300, 10, 10, 1, 21);
    const scale = [1000, 1, 1, 1e-3, 1, 1, 1000, 1, 1, 1];
    const xs = asFloat32(x.map((r) => r.map((v, j) => v * scale[j])));
    const ys = asFloat32(y.map((r) => r.map((v, j) => v * scale[j])));
    close(linearityScore(T(xs), T(y)), refScore(x, y), 1e-5); // invariance in x
    close(linearityScore(T(xs), T(ys)), refScore(xs, ys), 1e-5); // y outliers change the score
  });

  it("is not spoilt by a column mean much larger than the spread", () => {
    const { x, y } = pair(300, 8, 8, 1, 31);
    const xm = asFloat32(x.map((r) => r.map((v) => v + 1e4)));
    const ym = asFloat32(y.map((r) => r.map((v) => v - 3e4)));
    close(linearityScore(T(xm), T(ym)), refScore(xm, ym), 1e-5);
  });

  it("handles rank-deficient x (duplicate, combined and constant columns)", () => {
    const { x, y } = pair(200, 8, 6, 1, 41);
    const xd = asFloat32(x.map((r) => [...r, r[0], r[1] + 2 * r[2], 5]));
    // pinv semantics: the extra columns add nothing to the span of (centred) x.
    close(linearityScore(T(xd), T(y)), refScore(x, y), 1e-5);
    close(linearityScore(T(xd), T(y)), refScore(xd, y, 1e-6), 1e-5);
  });

  it("gives 1 when tokens < d_model (any y is explained)", () => {
    const x = gaussianMatrix(12, 30, 51), y = gaussianMatrix(12, 30, 52);
    close(refScore(x, y, 1e-9), 1, 1e-9);
    close(linearityScore(T(x), T(y)), 1, 1e-5);
  });
});

describe("linearityScoreResidual", () => {
  it("equals the reference score of x against y - x", () => {
    for (const seed of [61, 62]) {
      const { x, y } = pair(300, 10, 10, 2, seed);
      const ref = refScore(x, sub(y, x));
      close(linearityScoreResidual(T(x), T(y)), ref, 1e-5);
    }
  });

  it("relates to the plain score: 1 - r = (1 - s) ||yc||^2 / ||yc - xc||^2", () => {
    const { x, y } = pair(200, 6, 6, 1, 63);
    const s = linearityScore(T(x), T(y)), r = linearityScoreResidual(T(x), T(y));
    const yn = refNormalize(y);
    const c = (m: Mat) => { const mu = m[0].map((_, j) => m.reduce((a, row) => a + row[j], 0) / m.length); return m.map((row) => row.map((v, j) => v - mu[j])); };
    const ratio = c(y).flat().reduce((a, v) => a + v * v, 0) / c(sub(y, x)).flat().reduce((a, v) => a + v * v, 0);
    expect(yn.length).toBe(200);
    close(1 - r, (1 - s) * ratio, 1e-6);
  });
});

describe("leastSquaresMap", () => {
  it("matches pinv(x) y on normalized data (the original's get_A_est)", () => {
    const { x, y } = pair(300, 8, 5, 1, 71);
    const xn = asFloat32(refNormalize(x)), yn = asFloat32(refNormalize(y));
    const ref = refPinvSolve(xn, yn);
    const A = leastSquaresMap(T(xn), T(yn)).arraySync();
    const scale = Math.max(...ref.flat().map(Math.abs));
    for (let i = 0; i < 8; i++) for (let j = 0; j < 5; j++) close(A[i][j], ref[i][j], 1e-5 * scale);
  });

  it("returns the minimum-norm solution for rank-deficient x", () => {
    const { x, y } = pair(150, 5, 3, 1, 72);
    const xd = asFloat32(x.map((r) => [r[0], r[1], r[2], r[3], r[4], r[0] - r[1], 2 * r[2], 0]));
    const ref = refPinvSolve(xd, y, 1e-6);
    const A = leastSquaresMap(T(xd), T(y)).arraySync();
    const scale = Math.max(...ref.flat().map(Math.abs));
    for (let i = 0; i < 8; i++) for (let j = 0; j < 3; j++) close(A[i][j], ref[i][j], 1e-4 * scale);
  });

  it("handles large column scales and uncentred data", () => {
    const { x, y } = pair(200, 6, 4, 0.5, 73);
    const xs = asFloat32(x.map((r) => r.map((v, j) => (j === 2 ? 1000 * v : v) + 50)));
    const ref = refPinvSolve(xs, y);
    const A = leastSquaresMap(T(xs), T(y)).arraySync();
    for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) {
      close(A[i][j], ref[i][j], 1e-4 * Math.max(1e-3, Math.abs(ref[i][j])) + 1e-6);
    }
  });
});

describe("tokenLinearity", () => {
  const { x, y } = pair(200, 8, 8, 1, 81);
  it("matches the reference per token, both forms", () => {
    const a = tokenLinearity(T(x), T(y));
    const r = tokenLinearity(T(x), T(y), { relative: true });
    const refA = refTokenLinearity(x, y, false), refR = refTokenLinearity(x, y, true);
    expect(a.length).toBe(200);
    for (let i = 0; i < 200; i++) {
      close(a[i], refA[i], 1e-6);
      close(r[i], refR[i], 1e-4);
    }
  });

  it("relates to the global score", () => {
    const s = linearityScore(T(x), T(y));
    const a = tokenLinearity(T(x), T(y));
    const mean = a.reduce((p, v) => p + v, 0) / a.length;
    close(mean, 1 - (1 - s) / 200, 1e-7); // why the original's values all sit near 0.9999
    const r = tokenLinearity(T(x), T(y), { relative: true });
    const yn = refNormalize(y);
    const weighted = r.reduce((p, v, i) => p + v * yn[i].reduce((q, u) => q + u * u, 0), 0);
    close(weighted, s, 1e-5);
  });
});

describe("normalize", () => {
  it("centres and scales to unit Frobenius norm", () => {
    const x = asFloat32(gaussianMatrix(50, 4, 91).map((r) => r.map((v) => 3 * v + 100)));
    const got = normalize(T(x)).arraySync();
    const ref = refNormalize(x);
    for (let i = 0; i < 50; i++) for (let j = 0; j < 4; j++) close(got[i][j], ref[i][j], 1e-7);
  });
});

describe("errors", () => {
  let x: tf.Tensor2D, y: tf.Tensor2D;
  beforeAll(() => {
    x = T(gaussianMatrix(20, 4, 1));
    y = T(gaussianMatrix(20, 4, 2));
  });
  it("checks shapes first, naming function, argument and dimensions", () => {
    expect(() => linearityScore(tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, y)).toThrow(
      "linearityScore: 'x' expected shape [tokens, d_model], got [2]",
    );
    expect(() => linearityScore(x, T(gaussianMatrix(19, 4, 3)))).toThrow(
      "linearityScore: 'y' expected shape [tokens=20, d_model], got [19, 4]",
    );
    expect(() => linearityScoreResidual(x, T(gaussianMatrix(20, 5, 3)))).toThrow(
      "linearityScoreResidual: 'y' expected shape [tokens=20, d_model=4], got [20, 5]",
    );
    expect(() => leastSquaresMap(x, T(gaussianMatrix(21, 4, 3)))).toThrow(
      "leastSquaresMap: 'y' expected shape [tokens=20, d_model], got [21, 4]",
    );
    expect(() => tokenLinearity(x, T(gaussianMatrix(21, 4, 3)))).toThrow(
      "tokenLinearity: 'y' expected shape [tokens=20, d_model], got [21, 4]",
    );
    expect(() => normalize(tf.zeros([2, 2, 2]) as unknown as tf.Tensor2D)).toThrow(
      "normalize: 'x' expected shape [tokens, d_model], got [2, 2, 2]",
    );
  });

  it("names the argument, row and column of NaN/Inf", () => {
    const bad = gaussianMatrix(20, 4, 5);
    bad[13][2] = NaN;
    expect(() => linearityScore(T(bad), y)).toThrow("linearityScore: 'x' has NaN at row 13, column 2");
    const inf = gaussianMatrix(1500, 4, 6);
    inf[1200][3] = -Infinity; // beyond the first 1024-row block: the row stays absolute
    expect(() => linearityScore(T(gaussianMatrix(1500, 4, 7)), T(inf))).toThrow(
      "linearityScore: 'y' has -Infinity at row 1200, column 3",
    );
    expect(() => normalize(T(bad))).toThrow("normalize: 'x' has NaN at row 13, column 2");
    expect(() => leastSquaresMap(x, T(bad))).toThrow("leastSquaresMap: 'y' has NaN at row 13, column 2");
  });

  it("rejects a y without variance and a bad rcond", () => {
    const flatY = T(Array.from({ length: 20 }, () => [1, 2, 3, 4]));
    expect(() => linearityScore(x, flatY)).toThrow("linearityScore: 'y' has no variance");
    expect(() => tokenLinearity(x, flatY)).toThrow("tokenLinearity: 'y' has no variance");
    expect(() => normalize(flatY)).toThrow("normalize: 'x' has no variance");
    const shifted = tf.add(x, 2) as tf.Tensor2D;
    expect(() => linearityScoreResidual(x, shifted)).toThrow("linearityScoreResidual: 'y - x' has no variance");
    expect(() => linearityScore(x, y, { rcond: 1.5 })).toThrow("rcond must be in [0, 1), got 1.5");
  });
});
