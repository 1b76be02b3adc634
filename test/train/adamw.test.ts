import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend";
import { AdamW, type NamedVariable } from "../../lib/train/adamw";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Independent float64 AdamW (torch.optim.AdamW's update rule), written from the paper's formulas. */
function referenceAdamW(
  p0: number[],
  grads: number[][],
  lrs: number[],
  o: { wd: number; b1: number; b2: number; eps: number; decay: boolean },
): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    const lr = lrs[s];
    for (let i = 0; i < p.length; i++) {
      if (o.decay) p[i] = p[i] - lr * o.wd * p[i];
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const mHat = m[i] / (1 - o.b1 ** t);
      const vHat = v[i] / (1 - o.b2 ** t);
      p[i] = p[i] - (lr * mHat) / (Math.sqrt(vHat) + o.eps);
    }
  });
  return p;
}

function named(name: string, values: number[], shape: number[], decay: boolean): NamedVariable {
  return { name, variable: tf.variable(tf.tensor(values, shape), true, `adamw-test/${name}/${Math.random()}`), decay };
}

describe("AdamW", () => {
  const w0 = [0.5, -1.25, 2, 0.125, -0.75, 1.5];
  const b0 = [0.3, -0.2];
  const gradsW = [
    [0.1, -0.2, 0.3, 0.05, -1, 2],
    [-0.4, 0.1, 0.2, -0.3, 0.5, 0.01],
    [0.7, 0.7, -0.1, 0.2, 0.0, -0.5],
  ];
  const gradsB = [
    [1, -1],
    [0.5, 0.25],
    [-2, 0.1],
  ];
  const lrs = [0.01, 0.02, 0.005];
  const hyper = { weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8 };

  it("matches a float64 reference over three steps with changing lr, decay on matrices only", () => {
    const w = named("w", w0, [2, 3], true);
    const b = named("b", b0, [2], false);
    const opt = new AdamW([w, b], hyper);
    for (let s = 0; s < 3; s++) {
      opt.step([tf.tensor(gradsW[s], [2, 3]), tf.tensor(gradsB[s], [2])], lrs[s]);
    }
    const o = { wd: 0.1, b1: 0.9, b2: 0.95, eps: 1e-8 };
    const wantW = referenceAdamW(w0, gradsW, lrs, { ...o, decay: true });
    const wantB = referenceAdamW(b0, gradsB, lrs, { ...o, decay: false });
    const gotW = w.variable.dataSync();
    const gotB = b.variable.dataSync();
    for (let i = 0; i < 6; i++) expect(Math.abs(gotW[i] - wantW[i])).toBeLessThan(1e-6);
    for (let i = 0; i < 2; i++) expect(Math.abs(gotB[i] - wantB[i])).toBeLessThan(1e-6);
    // The update is not trivially zero: weights moved by more than the tolerance.
    expect(Math.abs(gotW[0] - w0[0])).toBeGreaterThan(1e-3);
    expect(opt.steps).toBe(3);
  });

  it("continues identically after getState/setState into a fresh optimizer", () => {
    const a = named("w", w0, [2, 3], true);
    const optA = new AdamW([a], hyper);
    for (let s = 0; s < 3; s++) optA.step([tf.tensor(gradsW[s], [2, 3])], lrs[s]);

    const b = named("w", w0, [2, 3], true);
    const optB = new AdamW([b], hyper);
    optB.step([tf.tensor(gradsW[0], [2, 3])], lrs[0]);
    const saved = optB.getState();
    const c = named("w", Array.from(b.variable.dataSync()), [2, 3], true);
    const optC = new AdamW([c], hyper);
    optC.setState(saved);
    expect(optC.steps).toBe(1);
    for (let s = 1; s < 3; s++) optC.step([tf.tensor(gradsW[s], [2, 3])], lrs[s]);
    const x = a.variable.dataSync();
    const y = c.variable.dataSync();
    for (let i = 0; i < 6; i++) expect(Math.abs(x[i] - y[i])).toBeLessThan(1e-7);
  });

  it("rejects bad hyperparameters, gradient lists and states with one-line errors", () => {
    const w = named("w", w0, [2, 3], true);
    expect(() => new AdamW([w], { beta1: 1 })).toThrow(/AdamW: 'beta1' expected a number in \[0, 1\), got 1/);
    expect(() => new AdamW([w], { weightDecay: -1 })).toThrow(/'weightDecay'/);
    expect(() => new AdamW([w, w])).toThrow(/parameter name 'w' appears twice/);
    const opt = new AdamW([w]);
    expect(() => opt.step([], 0.1)).toThrow(/expected 1 gradients \(one per parameter\), got 0/);
    expect(() => opt.step([tf.zeros([3, 2])], 0.1)).toThrow(/gradient of 'w' has shape \[3, 2\], parameter has \[2, 3\]/);
    expect(() => opt.step([tf.zeros([2, 3])], NaN)).toThrow(/'lr' expected a finite number/);
    expect(() => opt.setState({ step: 1, m: {}, v: {} })).toThrow(/no 'm' for 'w'/);
    expect(() => opt.setState({ step: 1, m: { w: new Float32Array(5) }, v: { w: new Float32Array(6) } })).toThrow(
      /saved 'm' of 'w' has 5 values, the parameter has 6/,
    );
    expect(() => opt.setState({ step: -1, m: {}, v: {} })).toThrow(/'step' expected an integer >= 0/);
  });
});
