import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { AdamW } from "../../lib/probes/adamw";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Reference AdamW in float64, written from the update rule of torch.optim.AdamW (docs). */
function referenceAdamW(
  p0: number[], grads: number[][], lr: number, wd: number, b1: number, b2: number, eps: number,
): number[] {
  const p = p0.slice();
  const m = p0.map(() => 0);
  const v = p0.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] = p[i] * (1 - lr * wd);
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - Math.pow(b1, t));
      const vHat = v[i] / (1 - Math.pow(b2, t));
      p[i] = p[i] - lr * mHat / (Math.sqrt(vHat) + eps);
    }
  });
  return p;
}

describe("AdamW", () => {
  const p0 = [0.5, -1.25, 2.0, 0.0, 3.5, -0.75];
  const g1 = [0.1, -0.2, 0.3, -0.4, 1e-3, 5.0];
  const g2 = [-0.3, 0.25, 0.0, 0.4, 2.0, -1.0];

  it("first step: p(1 - lr wd) - lr g / (|g| + eps) (the bias-corrected first step, by hand)", () => {
    const p = tf.variable(tf.tensor2d(p0, [2, 3]));
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.01 });
    opt.step([tf.tensor2d(g1, [2, 3])]);
    const got = Array.from(p.dataSync());
    const want = p0.map((x, i) => x * (1 - 0.1 * 0.01) - (0.1 * g1[i]) / (Math.abs(g1[i]) + 1e-8));
    got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(1e-6));
    expect(opt.steps).toBe(1);
    opt.dispose();
    p.dispose();
  });

  it("two steps match a float64 reference, with torch's defaults", () => {
    const p = tf.variable(tf.tensor1d(p0));
    const opt = new AdamW([p]);
    expect([opt.lr, opt.weightDecay, opt.beta1, opt.beta2, opt.eps]).toEqual([1e-3, 0.01, 0.9, 0.999, 1e-8]);
    opt.step([tf.tensor1d(g1)]);
    opt.step([tf.tensor1d(g2)]);
    const want = referenceAdamW(p0, [g1, g2], 1e-3, 0.01, 0.9, 0.999, 1e-8);
    Array.from(p.dataSync()).forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(2e-6));
    opt.dispose();
    p.dispose();
  });

  it("applies decoupled decay even with a zero gradient (unlike L2-regularised Adam)", () => {
    const p = tf.variable(tf.tensor1d([2.0]));
    const opt = new AdamW([p], { lr: 0.5, weightDecay: 0.1 });
    opt.step([tf.tensor1d([0])]);
    // m = v = 0, so the Adam term is 0 / (0 + eps) = 0 and only the decay acts: 2 * (1 - 0.05)
    expect(Math.abs(p.dataSync()[0] - 1.9)).toBeLessThan(1e-6);
    opt.dispose();
    p.dispose();
  });

  it("updates several parameters independently and leaks no tensors", () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3]));
    const opt = new AdamW([a, b], { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05 });
    const ga = tf.tensor1d([0.5, -0.5]);
    const gb = tf.tensor1d([0.2]);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) opt.step([ga, gb]);
    expect(tf.memory().numTensors).toBe(before);
    const wantA = referenceAdamW([1, 2], [[0.5, -0.5], [0.5, -0.5], [0.5, -0.5]], 0.01, 0.05, 0.8, 0.99, 1e-6);
    const wantB = referenceAdamW([3], [[0.2], [0.2], [0.2]], 0.01, 0.05, 0.8, 0.99, 1e-6);
    Array.from(a.dataSync()).forEach((x, i) => expect(Math.abs(x - wantA[i])).toBeLessThan(2e-6));
    expect(Math.abs(b.dataSync()[0] - wantB[0])).toBeLessThan(2e-6);
    opt.dispose();
  });

  it("rejects bad hyperparameters and mismatched gradients", () => {
    const p = tf.variable(tf.tensor1d([1, 2]));
    expect(() => new AdamW([p], { lr: -1 })).toThrow(/AdamW: 'lr' expected a number in \[0, Infinity\), got -1/);
    expect(() => new AdamW([p], { beta1: 1 })).toThrow(/AdamW: 'beta1' expected a number in \[0, 1\), got 1/);
    expect(() => new AdamW([p], { eps: NaN })).toThrow(/'eps'/);
    const opt = new AdamW([p]);
    expect(() => opt.step([])).toThrow(/AdamW.step: expected 1 gradients \(one per parameter\), got 0/);
    expect(() => opt.step([tf.tensor1d([1, 2, 3])])).toThrow(
      /AdamW.step: gradient 0 has shape \[3\], parameter has \[2\]/,
    );
    opt.dispose();
  });
});
