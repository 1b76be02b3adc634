import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { applyAffineMap, fitAffineMap } from "../../lib/probes/closed-form";
import { compareWithClosedForm, disposeProbeData, probeData } from "../../lib/probes/experiment";
import { LinearProbe } from "../../lib/probes/probe";
import { probeScore } from "../../lib/probes/score";
import { splitTrainTest } from "../../lib/probes/split";
import { trainProbe } from "../../lib/probes/train";
import { linearityScore } from "../../lib/metrics";
import { leastSquaresR2, linearData } from "./synthetic";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("fitAffineMap / applyAffineMap", () => {
  it("recovers a known affine map and its train score is the float64 least-squares R^2", () => {
    const n = 500, dIn = 5, dOut = 3;
    // Columns with very different offsets and scales, as hidden states have.
    const syn = linearData(n, dIn, dOut, 0.2, 21);
    for (let i = 0; i < n; i++) syn.x[i * dIn + 2] = 50 + 10 * syn.x[i * dIn + 2];
    const x = tf.tensor2d(syn.x, [n, dIn]), y = tf.tensor2d(syn.y, [n, dOut]);
    const map = fitAffineMap(x, y);
    const pred = applyAffineMap(map, x);
    const reference = leastSquaresR2(syn.x, syn.y, n, dIn, dOut);
    expect(Math.abs(probeScore(pred, y) - reference)).toBeLessThan(1e-5);
    expect(Math.abs(linearityScore(x, y) - reference)).toBeLessThan(1e-5);
    // weight of the rescaled column 2 is w/10
    const w = map.weight.arraySync();
    expect(Math.abs(w[0][0] - syn.w[0][0])).toBeLessThan(0.05);
    expect(Math.abs(w[2][1] - syn.w[2][1] / 10)).toBeLessThan(0.005);
  });

  it("rejects mismatched shapes and NaN", () => {
    const x = tf.zeros([4, 2]) as tf.Tensor2D;
    expect(() => fitAffineMap(x, tf.zeros([3, 2]) as tf.Tensor2D)).toThrow(/fitAffineMap: 'y' expected shape \[tokens=4, d_out\], got \[3, 2\]/);
    expect(() => fitAffineMap(tf.tensor2d([[1, NaN], [2, 3]]), tf.tensor2d([[1], [2]]))).toThrow(/fitAffineMap: 'x' has NaN at row 0, column 1/);
    const map = fitAffineMap(tf.tensor2d([[1, 0], [0, 1], [1, 1]]), tf.tensor2d([[1], [2], [3]]));
    expect(() => applyAffineMap(map, tf.zeros([2, 3]) as tf.Tensor2D)).toThrow(/applyAffineMap: 'x' expected shape \[rows, d_in=2\], got \[2, 3\]/);
  });
});

describe("probeData", () => {
  it("gathers the split's rows in order", () => {
    const x = tf.tensor2d([[0, 0], [1, 10], [2, 20], [3, 30]]);
    const y = tf.tensor2d([[0], [1], [2], [3]]);
    const data = probeData(x, y, { train: Int32Array.from([0, 2, 3]), test: Int32Array.from([1]) });
    expect(data.xTrain.arraySync()).toEqual([[0, 0], [2, 20], [3, 30]]);
    expect(data.yTest.arraySync()).toEqual([[1]]);
    disposeProbeData(data);
    expect(data.xTrain.isDisposed).toBe(true);
  });

  it("rejects mismatched rows and out-of-range indices", () => {
    const x = tf.zeros([4, 2]) as tf.Tensor2D;
    expect(() => probeData(x, tf.zeros([3, 1]) as tf.Tensor2D, splitTrainTest(4))).toThrow(
      /probeData: 'y' expected shape \[tokens=4, d_out\], got \[3, 1\]/,
    );
    expect(() => probeData(x, tf.zeros([4, 1]) as tf.Tensor2D, { train: Int32Array.from([0, 4]), test: Int32Array.from([1]) })).toThrow(
      /probeData: split.train has row 4, outside 0..3/,
    );
  });
});

describe("compareWithClosedForm", () => {
  it("puts a trained probe just under the closed form on train rows, with a matching cross-check", () => {
    const n = 800, dIn = 6, dOut = 3;
    const syn = linearData(n, dIn, dOut, 0.3, 8);
    const x = tf.tensor2d(syn.x, [n, dIn]), y = tf.tensor2d(syn.y, [n, dOut]);
    const data = probeData(x, y, splitTrainTest(n, { seed: 4 }));
    const probe = new LinearProbe(dIn, dOut, { seed: 2 });
    trainProbe(probe, data, { lr: 1e-2, epochs: 8 });
    const { rows, linearityScoreTrain } = compareWithClosedForm([probe], data, ["linear probe (AdamW)"]);
    expect(rows.map((r) => r.method)).toEqual(["linear probe (AdamW)", "closed-form least squares"]);
    const [p, cf] = rows;
    expect(Math.abs(linearityScoreTrain - cf.trainScore)).toBeLessThan(1e-5);
    expect(p.trainScore).toBeLessThanOrEqual(cf.trainScore + 1e-6);
    expect(cf.trainScore - p.trainScore).toBeLessThan(0.01);
    expect(cf.trainMse).toBeLessThanOrEqual(p.trainMse + 1e-7);
    // noise variance 0.09 is the floor of the test MSE
    expect(Math.abs(cf.testMse / 0.09 - 1)).toBeLessThan(0.2);
    expect(Math.abs(p.testMse / 0.09 - 1)).toBeLessThan(0.2);
    expect(() => compareWithClosedForm([probe], data, [])).toThrow(/compareWithClosedForm: expected 1 names \(one per probe\), got 0/);
    probe.dispose();
    disposeProbeData(data);
  });
});
