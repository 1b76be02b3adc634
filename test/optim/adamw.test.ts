import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { AdamW, type NamedVariable } from "../../lib/optim/adamw";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/**
 * Independent float64 AdamW, written from the update rule in torch.optim.AdamW's documentation:
 * one learning rate per step, decay on or off for the whole parameter.
 */
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

describe("AdamW with plain variables (the probes' use: torch semantics, fixed lr, decay on every parameter)", () => {
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
    const want = referenceAdamW(p0, [g1, g2], [1e-3, 1e-3], { wd: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, decay: true });
    Array.from(p.dataSync()).forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(2e-6));
    // The update is not trivially zero: weights moved by more than the tolerance.
    expect(Math.abs(p.dataSync()[0] - p0[0])).toBeGreaterThan(1e-4);
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

  it("updates several parameters independently; steps leak no tensors", () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3]));
    const opt = new AdamW([a, b], { lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.05 });
    const ga = tf.tensor1d([0.5, -0.5]);
    const gb = tf.tensor1d([0.2]);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) opt.step([ga, gb]);
    expect(tf.memory().numTensors).toBe(before);
    const o = { wd: 0.05, b1: 0.8, b2: 0.99, eps: 1e-6, decay: true };
    const wantA = referenceAdamW([1, 2], [[0.5, -0.5], [0.5, -0.5], [0.5, -0.5]], [0.01, 0.01, 0.01], o);
    const wantB = referenceAdamW([3], [[0.2], [0.2], [0.2]], [0.01, 0.01, 0.01], o);
    Array.from(a.dataSync()).forEach((x, i) => expect(Math.abs(x - wantA[i])).toBeLessThan(2e-6));
    expect(Math.abs(b.dataSync()[0] - wantB[0])).toBeLessThan(2e-6);
    opt.dispose();
    for (const x of [a, b, ga, gb]) x.dispose();
  });

  it("rejects bad hyperparameters and mismatched gradients, changing nothing", () => {
    const p = tf.variable(tf.tensor1d([1, 2]));
    expect(() => new AdamW([p], { lr: -1 })).toThrow(/AdamW: 'lr' expected a number in \[0, Infinity\), got -1/);
    expect(() => new AdamW([p], { beta1: 1 })).toThrow(/AdamW: 'beta1' expected a number in \[0, 1\), got 1/);
    expect(() => new AdamW([p], { eps: NaN })).toThrow(/'eps'/);
    expect(() => new AdamW([p, p])).toThrow(new RegExp(`AdamW: parameter name '${p.name}' appears twice`));
    const q = tf.variable(tf.tensor1d([3]));
    const opt = new AdamW([q, p]);
    expect(() => opt.step([])).toThrow(/AdamW.step: expected 2 gradients \(one per parameter\), got 0/);
    expect(() => opt.step([tf.tensor1d([1]), tf.tensor1d([1, 2, 3])])).toThrow(
      /AdamW.step: gradient 1 \('.+'\) has shape \[3\], parameter has \[2\]/,
    );
    // The mismatch is found before any parameter moves.
    expect(Array.from(q.dataSync())).toEqual([3]);
    expect(opt.steps).toBe(0);
    opt.dispose();
    p.dispose();
    q.dispose();
  });
});

describe("AdamW with named variables (the trainer's use: lr per step, decay on matrices only, saved state)", () => {
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
    // The decay flag matters here: the bias with decay on would land elsewhere.
    const bIfDecayed = referenceAdamW(b0, gradsB, lrs, { ...o, decay: true });
    expect(Math.abs(bIfDecayed[0] - wantB[0])).toBeGreaterThan(1e-5);
    expect(Math.abs(gotW[0] - w0[0])).toBeGreaterThan(1e-3);
    expect(opt.steps).toBe(3);
  });

  it("a step's lr overrides the lr option; without one the option is used", () => {
    const a = named("a", w0, [2, 3], true);
    const b = named("b", w0, [2, 3], true);
    const optA = new AdamW([a], { ...hyper, lr: 0.5 });
    const optB = new AdamW([b], { ...hyper, lr: 0.02 });
    optA.step([tf.tensor(gradsW[0], [2, 3])], 0.02);
    optB.step([tf.tensor(gradsW[0], [2, 3])]);
    expect(Array.from(a.variable.dataSync())).toEqual(Array.from(b.variable.dataSync()));
    const want = referenceAdamW(w0, [gradsW[0]], [0.02], { wd: 0.1, b1: 0.9, b2: 0.95, eps: 1e-8, decay: true });
    for (let i = 0; i < 6; i++) expect(Math.abs(a.variable.dataSync()[i] - want[i])).toBeLessThan(1e-6);
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
    for (let i = 0; i < 6; i++) expect(x[i]).toBe(y[i]);
  });

  it("holds exactly two tensors per parameter, and construction, setState and dispose leak none", () => {
    const w = named("w", w0, [2, 3], true);
    const b = named("b", b0, [2], false);
    const before = tf.memory().numTensors;
    const opt = new AdamW([w, b], hyper);
    expect(tf.memory().numTensors).toBe(before + 4);
    const state = opt.getState();
    opt.setState(state);
    expect(tf.memory().numTensors).toBe(before + 4);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
    w.variable.dispose();
    b.variable.dispose();
  });

  it("rejects bad hyperparameters, gradient lists and states with one-line errors", () => {
    const w = named("w", w0, [2, 3], true);
    expect(() => new AdamW([w], { beta1: 1 })).toThrow(/AdamW: 'beta1' expected a number in \[0, 1\), got 1/);
    expect(() => new AdamW([w], { weightDecay: -1 })).toThrow(/'weightDecay'/);
    expect(() => new AdamW([w, w])).toThrow(/parameter name 'w' appears twice/);
    const opt = new AdamW([w]);
    expect(() => opt.step([], 0.1)).toThrow(/expected 1 gradients \(one per parameter\), got 0/);
    expect(() => opt.step([tf.zeros([3, 2])], 0.1)).toThrow(/gradient 0 \('w'\) has shape \[3, 2\], parameter has \[2, 3\]/);
    expect(() => opt.step([tf.zeros([2, 3])], NaN)).toThrow(/'lr' expected a finite number/);
    expect(() => opt.step([tf.zeros([2, 3])], -0.1)).toThrow(/'lr' expected a finite number >= 0, got -0.1/);
    expect(() => opt.setState({ step: 1, m: {}, v: {} })).toThrow(/no 'm' for 'w'/);
    expect(() => opt.setState({ step: 1, m: { w: new Float32Array(6) }, v: {} })).toThrow(/no 'v' for 'w'/);
    expect(() => opt.setState({ step: 1, m: { w: new Float32Array(5) }, v: { w: new Float32Array(6) } })).toThrow(
      /saved 'm' of 'w' has 5 values, the parameter has 6/,
    );
    expect(() => opt.setState({ step: -1, m: {}, v: {} })).toThrow(/'step' expected an integer >= 0/);
    expect(opt.steps).toBe(0);
  });
});
