import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend";
import { CosineAccumulator, MeanNormAccumulator, angularDistance, meanCosine, meanNorm } from "../../lib/metrics";
import { Mat, asFloat32, flat, gaussianMatrix } from "../numerics/reference";

const T = (m: Mat) => tf.tensor2d(flat(m), [m.length, m[0].length]);
const close = (a: number, b: number, tol: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("meanNorm, meanCosine, angularDistance", () => {
  it("match hand-computed values", () => {
    const x = [[3, 4], [0, 2], [1, 0]], y = [[3, 4], [0, -5], [1, 1]];
    close(meanNorm(T(x)), (5 + 2 + 1) / 3, 1e-12);
    close(meanCosine(T(x), T(y)), (1 - 1 + Math.SQRT1_2) / 3, 1e-7);
    close(angularDistance(T(x), T(y)), (0 + 1 + 0.25) / 3, 1e-4);
    // Last token of each sample: samples [2 tokens, 1 token] -> rows 1 and 2.
    close(angularDistance(T(x), T(y), { sampleLengths: [2, 1] }), (1 + 0.25) / 2, 1e-4);
  });

  it("agree with float64 loops on random data and stream the same", () => {
    const x = asFloat32(gaussianMatrix(120, 7, 1)), y = asFloat32(gaussianMatrix(120, 7, 2).map((r, i) => r.map((v, j) => v + x[i][j])));
    let cs = 0, ns = 0, as = 0;
    for (let i = 0; i < 120; i++) {
      const dot = x[i].reduce((a, v, j) => a + v * y[i][j], 0);
      const nx = Math.hypot(...x[i]), ny = Math.hypot(...y[i]);
      cs += dot / (nx * ny);
      ns += nx;
      as += Math.acos(dot / (nx * ny)) / Math.PI;
    }
    close(meanCosine(T(x), T(y)), cs / 120, 1e-12);
    close(meanNorm(T(x)), ns / 120, 1e-12);
    close(angularDistance(T(x), T(y)), as / 120, 1e-12);
    const acc = new CosineAccumulator(7), nacc = new MeanNormAccumulator(7);
    for (let r0 = 0; r0 < 120; r0 += 50) {
      acc.add(flat(x.slice(r0, r0 + 50)), flat(y.slice(r0, r0 + 50)));
      nacc.add(flat(x.slice(r0, r0 + 50)));
    }
    close(acc.meanCosine, cs / 120, 1e-12);
    close(acc.meanAngularDistance, as / 120, 1e-12);
    close(nacc.mean, ns / 120, 1e-12);
  });

  it("gives cosine 0 for a zero row (torch's eps), not NaN", () => {
    close(meanCosine(T([[0, 0], [1, 0]]), T([[1, 1], [1, 0]])), 0.5, 1e-12);
  });

  it("report shape, NaN and sample errors", () => {
    const x = T([[1, 2], [3, 4]]);
    expect(() => meanNorm(tf.tensor1d([1]) as unknown as tf.Tensor2D)).toThrow("meanNorm: 'x' expected shape [tokens, d_model], got [1]");
    expect(() => meanCosine(x, T([[1, 2, 3], [4, 5, 6]]))).toThrow("meanCosine: 'y' expected shape [tokens=2, d_model=2], got [2, 3]");
    expect(() => angularDistance(x, T([[1, 2]]))).toThrow("angularDistance: 'y' expected shape [tokens=2, d_model=2], got [1, 2]");
    expect(() => meanNorm(T([[1, 2], [Infinity, 0]]))).toThrow("meanNorm: 'x' has Infinity at row 1, column 0");
    expect(() => meanCosine(x, T([[1, NaN], [0, 0]]))).toThrow("meanCosine: 'y' has NaN at row 0, column 1");
    expect(() => angularDistance(x, x, { sampleLengths: [1, 2] })).toThrow("angularDistance: 'sampleLengths' sum to 3, expected tokens=2");
    expect(() => angularDistance(x, x, { sampleLengths: [2, 0] })).toThrow("angularDistance: 'sampleLengths' must hold positive integers, got 0 at index 1");
    const acc = new CosineAccumulator(2);
    acc.add(new Float32Array([1, 2]), new Float32Array([1, 2]));
    expect(() => acc.add(new Float32Array([1, NaN]), new Float32Array([1, 2]))).toThrow("CosineAccumulator: 'x' has NaN at row 1, column 1");
  });
});
