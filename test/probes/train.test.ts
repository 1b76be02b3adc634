import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { LinearProbe, MlpProbe, predict } from "../../lib/probes/probe";
import { ProbeData, ProbeHistory, probeMse, trainProbe } from "../../lib/probes/train";
import { probeScore } from "../../lib/probes/score";
import { splitTrainTest } from "../../lib/probes/split";
import { leastSquaresR2, linearData } from "./synthetic";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Split a synthetic set 70/30 into tensors. */
function toData(x: Float32Array, y: Float32Array, n: number, dIn: number, dOut: number, seed = 0) {
  const { train, test } = splitTrainTest(n, { seed });
  const xAll = tf.tensor2d(x, [n, dIn]);
  const yAll = tf.tensor2d(y, [n, dOut]);
  const data: ProbeData = {
    xTrain: tf.gather(xAll, tf.tensor1d(train, "int32")),
    yTrain: tf.gather(yAll, tf.tensor1d(train, "int32")),
    xTest: tf.gather(xAll, tf.tensor1d(test, "int32")),
    yTest: tf.gather(yAll, tf.tensor1d(test, "int32")),
  };
  return { data, train, test };
}

describe("trainProbe (linear probe on a known linear map)", () => {
  const n = 2000, dIn = 8, dOut = 4, sigma = 0.05;
  const syn = linearData(n, dIn, dOut, sigma, 11);
  let data: ProbeData, train: Int32Array, probe: LinearProbe, history: ProbeHistory;
  let before = 0, after = 0;
  const seen: number[] = [];
  beforeAll(() => {
    ({ data, train } = toData(syn.x, syn.y, n, dIn, dOut));
    probe = new LinearProbe(dIn, dOut, { seed: 0 });
    before = tf.memory().numTensors;
    history = trainProbe(probe, data, { lr: 1e-2, seed: 0, onEpoch: (e) => seen.push(e.epoch) });
    after = tf.memory().numTensors;
  });

  it("runs the original's 10 epochs of batch-16 steps and reports each epoch", () => {
    expect(history.epochs.length).toBe(10);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(history.steps).toBe(10 * Math.ceil(1400 / 16));
    expect(history.epochs[0].steps).toBe(Math.ceil(1400 / 16));
  });

  it("reaches the noise floor on held-out rows (test MSE near sigma^2 = 0.0025)", () => {
    const last = history.epochs[9];
    expect(last.testLoss).toBeLessThan(1.3 * sigma * sigma);
    expect(last.testLoss).toBeGreaterThan(0.7 * sigma * sigma);
    expect(history.epochs[0].trainLoss).toBeGreaterThan(last.trainLoss);
  });

  it("recovers the true weights and bias", () => {
    const w = probe.layer.weight.arraySync();
    const b = probe.layer.bias.arraySync();
    for (let k = 0; k < dIn; k++) for (let j = 0; j < dOut; j++) expect(Math.abs(w[k][j] - syn.w[k][j])).toBeLessThan(0.03);
    for (let j = 0; j < dOut; j++) expect(Math.abs(b[j] - syn.b[j])).toBeLessThan(0.03);
  });

  it("approaches the closed-form least-squares score from below on the train rows", () => {
    const xs = new Float32Array(train.length * dIn), ys = new Float32Array(train.length * dOut);
    train.forEach((row, i) => {
      xs.set(syn.x.subarray(row * dIn, (row + 1) * dIn), i * dIn);
      ys.set(syn.y.subarray(row * dOut, (row + 1) * dOut), i * dOut);
    });
    const closedForm = leastSquaresR2(xs, ys, train.length, dIn, dOut);
    const probeTrain = probeScore(predict(probe, data.xTrain), data.yTrain);
    expect(probeTrain).toBeLessThanOrEqual(closedForm + 1e-6);
    expect(closedForm - probeTrain).toBeLessThan(2e-3);
    expect(closedForm).toBeGreaterThan(0.98); // sanity: the data are nearly linear
  });

  it("frees every tensor it made", () => {
    expect(after).toBe(before);
  });
});

describe("trainProbe details", () => {
  const n = 60, dIn = 3, dOut = 2;
  const syn = linearData(n, dIn, dOut, 0.1, 5);

  it("train loss is the mean of batch losses: with lr 0 and equal batches, the initial full MSE", () => {
    const { data } = toData(syn.x, syn.y, n, dIn, dOut);
    // 42 train rows in batches of 14: equal batches, so the mean of batch means is the full mean.
    const probe = new LinearProbe(dIn, dOut, { seed: 1 });
    const w = probe.layer.weight.arraySync(), b = probe.layer.bias.arraySync();
    const xt = data.xTrain.arraySync(), yt = data.yTrain.arraySync();
    let sum = 0;
    xt.forEach((row, i) => {
      for (let j = 0; j < dOut; j++) {
        const pred = b[j] + row.reduce((s, v, k) => s + v * w[k][j], 0);
        sum += (yt[i][j] - pred) ** 2;
      }
    });
    const h = trainProbe(probe, data, { lr: 0, weightDecay: 0, batchSize: 14, epochs: 2 });
    expect(h.epochs[0].steps).toBe(3);
    expect(Math.abs(h.epochs[0].trainLoss - sum / (42 * dOut))).toBeLessThan(1e-6);
    expect(Math.abs(h.epochs[1].trainLoss - sum / (42 * dOut))).toBeLessThan(1e-6);
    expect(Math.abs(h.epochs[0].testLoss - probeMse(probe, data.xTest, data.yTest))).toBeLessThan(1e-9);
    probe.dispose();
  });

  it("is deterministic given the seeds, and the shuffle seed matters", () => {
    const { data } = toData(syn.x, syn.y, n, dIn, dOut);
    const run = (seed: number) => {
      const probe = new MlpProbe(dIn, 5, dOut, { seed: 3 });
      const h = trainProbe(probe, data, { seed, epochs: 3, batchSize: 4, lr: 1e-2 });
      probe.dispose();
      return h.epochs.map((e) => [e.trainLoss, e.testLoss]);
    };
    const a = run(1), b = run(1), c = run(2);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("trains an MLP probe whose hidden size differs from d_in (the fixed defect)", () => {
    const { data } = toData(syn.x, syn.y, n, dIn, dOut);
    const probe = new MlpProbe(dIn, 16, dOut, { seed: 0 });
    const h = trainProbe(probe, data, { epochs: 5, batchSize: 8, lr: 1e-2 });
    expect(h.epochs[4].testLoss).toBeLessThan(h.epochs[0].testLoss);
    expect(predict(probe, data.xTest).shape).toEqual([18, dOut]);
    probe.dispose();
  });

  it("rejects mismatched shapes and bad options with one-line messages", () => {
    const { data } = toData(syn.x, syn.y, n, dIn, dOut);
    const probe = new LinearProbe(dIn, dOut);
    expect(() => trainProbe(new LinearProbe(4, dOut), data)).toThrow(
      /trainProbe: 'xTrain' expected shape \[n_train, d_in=4\], got \[42, 3\]/,
    );
    expect(() => trainProbe(probe, { ...data, yTrain: data.yTest })).toThrow(
      /trainProbe: 'yTrain' expected shape \[n_train=42, d_out=2\], got \[18, 2\]/,
    );
    expect(() => trainProbe(probe, { ...data, yTest: data.xTest })).toThrow(
      /trainProbe: 'yTest' expected shape \[n_test=18, d_out=2\], got \[18, 3\]/,
    );
    expect(() => trainProbe(probe, data, { batchSize: 0 })).toThrow(/trainProbe: 'batchSize' expected a positive integer, got 0/);
    expect(() => trainProbe(probe, data, { epochs: 1.5 })).toThrow(/trainProbe: 'epochs' expected a positive integer, got 1.5/);
    expect(() => trainProbe(probe, data, { lr: -0.1 })).toThrow(/AdamW: 'lr'/);
    expect(() => probeMse(probe, data.xTrain, data.yTest)).toThrow(/probeMse: 'y' expected shape \[rows=42, d_out=2\]/);
    probe.dispose();
  });
});
