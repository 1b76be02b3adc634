import * as tf from "@tensorflow/tfjs-core";
import { ensureGradients } from "../../lib/models/common/gradients";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { LinearProbe, MlpProbe, predict } from "../../lib/probes/probe";
import { matMulDataLeft } from "../../lib/probes/matmul";

beforeAll(async () => {
  await initBackend({ quiet: true });
  ensureGradients();
});

describe("LinearProbe", () => {
  it("maps [rows, d_in] to [rows, d_out] as x W + b", () => {
    const probe = new LinearProbe(3, 2, { seed: 1 });
    const x = tf.tensor2d([1, 2, 3, -1, 0, 0.5], [2, 3]);
    const w = probe.layer.weight.arraySync();
    const b = probe.layer.bias.arraySync();
    const got = probe.forward(x).arraySync();
    const rows = [[1, 2, 3], [-1, 0, 0.5]];
    rows.forEach((r, i) => {
      for (let j = 0; j < 2; j++) {
        const want = r[0] * w[0][j] + r[1] * w[1][j] + r[2] * w[2][j] + b[j];
        expect(Math.abs(got[i][j] - want)).toBeLessThan(1e-5);
      }
    });
    expect(probe.parameterCount()).toBe(3 * 2 + 2);
    probe.dispose();
  });

  it("initialises like torch nn.Linear: U(-1/sqrt(d_in), 1/sqrt(d_in)) for weight and bias", () => {
    const dIn = 64;
    const probe = new LinearProbe(dIn, 256, { seed: 3 });
    const bound = 1 / Math.sqrt(dIn);
    const w = probe.layer.weight.dataSync();
    const b = probe.layer.bias.dataSync();
    for (const v of [...w, ...b]) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    // Variance of U(-a, a) is a^2 / 3; 16384 draws give a relative error well under 5%.
    const variance = Array.from(w).reduce((s, v) => s + v * v, 0) / w.length;
    expect(Math.abs(variance / (bound * bound / 3) - 1)).toBeLessThan(0.05);
    probe.dispose();
  });

  it("is deterministic given the seed", () => {
    const a = new LinearProbe(5, 4, { seed: 9 });
    const b = new LinearProbe(5, 4, { seed: 9 });
    const c = new LinearProbe(5, 4, { seed: 10 });
    expect(Array.from(a.layer.weight.dataSync())).toEqual(Array.from(b.layer.weight.dataSync()));
    expect(Array.from(a.layer.bias.dataSync())).toEqual(Array.from(b.layer.bias.dataSync()));
    expect(Array.from(a.layer.weight.dataSync())).not.toEqual(Array.from(c.layer.weight.dataSync()));
    [a, b, c].forEach((p) => p.dispose());
  });

  it("rejects bad sizes and inputs of the wrong width", () => {
    expect(() => new LinearProbe(0, 3)).toThrow(/LinearProbe: 'dIn' expected a positive integer, got 0/);
    expect(() => new LinearProbe(3, 2.5)).toThrow(/LinearProbe: 'dOut' expected a positive integer, got 2.5/);
    const probe = new LinearProbe(4, 2);
    expect(() => probe.forward(tf.zeros([3, 5]) as tf.Tensor2D)).toThrow(
      /LinearProbe.forward: 'x' expected shape \[rows, d_in=4\], got \[3, 5\]/,
    );
    probe.dispose();
  });
});

describe("MlpProbe (the original's shape defect fixed)", () => {
  it("has layers d_in -> d_hidden -> d_out, so a hidden size unlike d_in works", () => {
    // The original's second layer was Linear(embed, hidden): with d_hidden != d_in it could not
    // run, and its output had d_hidden columns. Here the output has d_out columns.
    const probe = new MlpProbe(6, 10, 3, { seed: 2 });
    expect(probe.hidden.weight.shape).toEqual([6, 10]);
    expect(probe.hidden.bias.shape).toEqual([10]);
    expect(probe.output.weight.shape).toEqual([10, 3]);
    expect(probe.output.bias.shape).toEqual([3]);
    expect(probe.forward(tf.ones([5, 6]) as tf.Tensor2D).shape).toEqual([5, 3]);
    expect(probe.parameterCount()).toBe(6 * 10 + 10 + 10 * 3 + 3);
    probe.dispose();
  });

  it("computes relu(x W1 + b1) W2 + b2", () => {
    const probe = new MlpProbe(2, 3, 1, { seed: 4 });
    const w1 = probe.hidden.weight.arraySync(), b1 = probe.hidden.bias.arraySync();
    const w2 = probe.output.weight.arraySync(), b2 = probe.output.bias.arraySync();
    const x = [0.7, -1.3];
    const h = [0, 1, 2].map((j) => Math.max(0, x[0] * w1[0][j] + x[1] * w1[1][j] + b1[j]));
    const want = h[0] * w2[0][0] + h[1] * w2[1][0] + h[2] * w2[2][0] + b2[0];
    const got = probe.forward(tf.tensor2d([x])).dataSync()[0];
    expect(Math.abs(got - want)).toBeLessThan(1e-5);
    probe.dispose();
  });

  it("is deterministic given the seed, and each layer uses its own fan-in bound", () => {
    const a = new MlpProbe(16, 64, 4, { seed: 1 });
    const b = new MlpProbe(16, 64, 4, { seed: 1 });
    expect(Array.from(a.output.weight.dataSync())).toEqual(Array.from(b.output.weight.dataSync()));
    for (const v of a.hidden.weight.dataSync()) expect(Math.abs(v)).toBeLessThanOrEqual(1 / 4);
    for (const v of a.output.weight.dataSync()) expect(Math.abs(v)).toBeLessThanOrEqual(1 / 8);
    // The output layer's largest weight is close to its bound 1/8, not to the first layer's 1/4.
    const maxOut = Math.max(...Array.from(a.output.weight.dataSync()).map(Math.abs));
    expect(maxOut).toBeGreaterThan(0.11);
    [a, b].forEach((p) => p.dispose());
  });

  it("rejects a bad hidden size", () => {
    expect(() => new MlpProbe(4, -1, 4)).toThrow(/MlpProbe: 'dHidden' expected a positive integer, got -1/);
  });
});

describe("predict", () => {
  it("gives the same rows in chunks as in one pass", () => {
    const probe = new MlpProbe(4, 8, 3, { seed: 5 });
    const x = tf.randomUniform([37, 4], -1, 1, "float32", 1) as tf.Tensor2D;
    const whole = predict(probe, x, 1000).dataSync();
    const chunked = predict(probe, x, 10).dataSync();
    expect(chunked.length).toBe(37 * 3);
    chunked.forEach((v, i) => expect(Math.abs(v - whole[i])).toBeLessThan(1e-6));
    expect(() => predict(probe, tf.zeros([2, 5]) as tf.Tensor2D)).toThrow(/predict: 'x' expected shape \[rows, d_in=4\]/);
    probe.dispose();
  });
});

describe("matMulDataLeft", () => {
  it("match tfjs's own matMul gradients", () => {
    const a = tf.randomUniform([5, 4], -1, 1, "float32", 2) as tf.Tensor2D;
    const b = tf.randomUniform([4, 3], -1, 1, "float32", 3) as tf.Tensor2D;
    const c = tf.randomUniform([5, 3], -1, 1, "float32", 4) as tf.Tensor2D;
    const loss = (mm: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D) => (x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(mm(x as tf.Tensor2D, y as tf.Tensor2D), c));
    const [ga, gb] = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    const [db] = tf.grads((y: tf.Tensor) => tf.sum(tf.mul(matMulDataLeft(a, y as tf.Tensor2D), c)))([b]);
    const close = (u: tf.Tensor, v: tf.Tensor) =>
      u.dataSync().forEach((x, i) => expect(Math.abs(x - v.dataSync()[i])).toBeLessThan(1e-5));
    expect(ga.shape).toEqual([5, 4]);
    close(db, gb);
    close(matMulDataLeft(a, b), tf.matMul(a, b));
  });
});

describe("memory", () => {
  it("a probe holds exactly its parameters and dispose frees them", () => {
    const before = tf.memory().numTensors;
    const probe = new MlpProbe(4, 8, 3);
    expect(tf.memory().numTensors - before).toBe(4);
    probe.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
