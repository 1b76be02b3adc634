import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readCurve } from "../../lib/train/curve";
import { train } from "../../lib/train/loop";
import { consecutiveStateRegularizer } from "../../lib/train/regularizer";
import { Rng } from "../../lib/train/random";
import { texts, tiny, weightsOf } from "./tiny-run";

let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-reg-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---- A float64 reference, written from the paper's formulas with plain numbers. ----
// states[s][t][k]: state s, token t (batch x pos flattened), component k.
type States64 = number[][][];

function reference(kind: "cosine" | "mse" | "mse-mean", states: States64): number {
  let total = 0;
  for (let s = 1; s < states.length; s++) {
    let pairSum = 0;
    const tokens = states[s].length;
    for (let t = 0; t < tokens; t++) {
      const a = states[s][t];
      const b = states[s - 1][t];
      if (kind === "cosine") {
        let dot = 0, na = 0, nb = 0;
        for (let k = 0; k < a.length; k++) {
          dot += a[k] * b[k];
          na += a[k] * a[k];
          nb += b[k] * b[k];
        }
        pairSum += 1 - dot / (Math.sqrt(na) * Math.sqrt(nb));
      } else {
        let sq = 0;
        for (let k = 0; k < a.length; k++) sq += (a[k] - b[k]) ** 2;
        pairSum += kind === "mse-mean" ? sq / a.length : sq;
      }
    }
    total += pairSum / tokens;
  }
  return total;
}

const BATCH = 2, POS = 3, D = 5, N_STATES = 4;

function randomStates(seed: number): States64 {
  const rng = new Rng(seed);
  // Float32-representable values, so tfjs and the reference see the same inputs.
  return Array.from({ length: N_STATES }, () =>
    Array.from({ length: BATCH * POS }, () => Array.from(rng.normalArray(D, 1), (x) => Math.fround(x))));
}

function toTensors(states: States64): tf.Tensor3D[] {
  return states.map((s) => tf.tensor3d(s.flat(), [BATCH, POS, D]));
}

describe("consecutiveStateRegularizer", () => {
  const seeds = { cosine: [1, 3], mse: [2, 4], "mse-mean": [5, 6] } as const;
  for (const kind of ["cosine", "mse", "mse-mean"] as const) {
    it(`${kind}: value matches a float64 reference`, () => {
      const states = randomStates(seeds[kind][0]);
      const ts = toTensors(states);
      const got = consecutiveStateRegularizer(kind, ts).dataSync()[0];
      const want = reference(kind, states);
      expect(Math.abs(got - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
      tf.dispose(ts);
    });

    it(`${kind}: gradient matches float64 central differences`, () => {
      const states = randomStates(seeds[kind][1]);
      const ts = toTensors(states);
      const grads = tf.grads((...xs: tf.Tensor[]) => consecutiveStateRegularizer(kind, xs as tf.Tensor3D[]))(ts);
      const h = 1e-6;
      let worst = 0;
      let scale = 0;
      for (let s = 0; s < N_STATES; s++) {
        const g = grads[s].dataSync();
        for (let t = 0; t < BATCH * POS; t++) {
          for (let k = 0; k < D; k++) {
            const x0 = states[s][t][k];
            states[s][t][k] = x0 + h;
            const up = reference(kind, states);
            states[s][t][k] = x0 - h;
            const down = reference(kind, states);
            states[s][t][k] = x0;
            const numeric = (up - down) / (2 * h);
            worst = Math.max(worst, Math.abs(g[t * D + k] - numeric));
            scale = Math.max(scale, Math.abs(numeric));
          }
        }
      }
      // A real gradient (not all zeros), matched to float32 precision.
      expect(scale).toBeGreaterThan(kind === "mse-mean" ? 2e-3 : 1e-2);
      expect(worst).toBeLessThan(1e-5 * Math.max(1, scale));
      tf.dispose([...ts, ...grads]);
    });
  }

  it("mse-mean is mse over d_model: the same states at d_model 5 and 40 (each component copied 8 times) give the same mse-mean", () => {
    const states = randomStates(8);
    const wide = states.map((s) => s.map((t) => t.flatMap((v) => Array(8).fill(v))));
    const ts = toTensors(states);
    const tw = wide.map((s) => tf.tensor3d(s.flat(), [BATCH, POS, 8 * D]));
    const narrow = consecutiveStateRegularizer("mse-mean", ts).dataSync()[0];
    expect(Math.abs(consecutiveStateRegularizer("mse-mean", tw).dataSync()[0] - narrow)).toBeLessThan(1e-6 * narrow);
    // while the summed form grows with the width
    expect(Math.abs(consecutiveStateRegularizer("mse", tw).dataSync()[0] - 8 * consecutiveStateRegularizer("mse", ts).dataSync()[0])).toBeLessThan(1e-5 * 8 * narrow * D);
    expect(Math.abs(consecutiveStateRegularizer("mse", ts).dataSync()[0] - D * narrow)).toBeLessThan(1e-5 * D * narrow);
    tf.dispose([...ts, ...tw]);
  });

  it("is zero for identical states and sums one term per consecutive pair", () => {
    const a = tf.randomNormal([BATCH, POS, D], 0, 1, "float32", 7) as tf.Tensor3D;
    expect(Math.abs(consecutiveStateRegularizer("cosine", [a, a, a]).dataSync()[0])).toBeLessThan(1e-6);
    expect(consecutiveStateRegularizer("mse", [a, a, a]).dataSync()[0]).toBe(0);
    // Opposite states: 1 - cos = 2 per pair, two pairs.
    const neg = tf.neg(a) as tf.Tensor3D;
    expect(Math.abs(consecutiveStateRegularizer("cosine", [a, neg, a]).dataSync()[0] - 4)).toBeLessThan(1e-5);
    expect(() => consecutiveStateRegularizer("cosine", [a])).toThrow(/at least 2 states/);
    tf.dispose([a, neg]);
  });
});

function bitsEqual(a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  return Object.keys(a).every((k) => Buffer.from(a[k].buffer, a[k].byteOffset, a[k].byteLength).equals(Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength)));
}

describe("train --reg", () => {
  it("lambda 0 reproduces the unregularized run bit for bit, and logs R apart", async () => {
    const plain = path.join(tmp, "plain");
    const zero = path.join(tmp, "zero");
    await train(tiny(plain), texts);
    const r = await train(tiny(zero, { reg: "cosine", regWeight: 0 }), texts);
    expect(bitsEqual(weightsOf(path.join(plain, "checkpoints", "step-000006")), weightsOf(path.join(zero, "checkpoints", "step-000006")))).toBe(true);
    const a = readCurve(path.join(plain, "learning-curve.csv"));
    const b = readCurve(path.join(zero, "learning-curve.csv"));
    expect(b.map((x) => [x.train_loss, x.val_loss])).toEqual(a.map((x) => [x.train_loss, x.val_loss]));
    // The plain run's curve keeps today's six columns; the regularized one adds train_reg, val_reg.
    expect(fs.readFileSync(path.join(plain, "learning-curve.csv"), "utf8").split("\n")[0]).toBe("step,lr,train_loss,val_loss,tokens,seconds");
    expect(fs.readFileSync(path.join(zero, "learning-curve.csv"), "utf8").split("\n")[0]).toBe("step,lr,train_loss,val_loss,tokens,seconds,train_reg,val_reg");
    // Cosine R of a 2-block model lies in [0, 4] and is logged with the run.
    for (const row of b) {
      expect(row.train_reg!).toBeGreaterThan(0);
      expect(row.val_reg!).toBeLessThan(4);
    }
    const summary = JSON.parse(fs.readFileSync(path.join(zero, "summary.json"), "utf8"));
    expect(summary.regularizer).toMatchObject({ kind: "cosine", weight: 0 });
    expect(Math.abs(summary.regularizer.val - r.finalValReg!)).toBe(0);
  });

  it("lambda > 0 lowers the regularizer it trains on (cosine, mse and mse-mean)", async () => {
    for (const kind of ["cosine", "mse", "mse-mean"] as const) {
      const off = await train(tiny(path.join(tmp, `${kind}-off`), { reg: kind, regWeight: 0, steps: 30, evalEvery: 10, checkpointEvery: 30 }), texts);
      const on = await train(tiny(path.join(tmp, `${kind}-on`), { reg: kind, regWeight: 0.5, steps: 30, evalEvery: 10, checkpointEvery: 30 }), texts);
      expect(on.finalValReg!).toBeLessThan(0.8 * off.finalValReg!);
    }
  });

  it("resumes a regularized run exactly and refuses another regularizer on resume", async () => {
    const opts = (out: string) => tiny(out, { reg: "mse", regWeight: 2 });
    const straight = path.join(tmp, "reg-straight");
    await train(opts(straight), texts);
    const split = path.join(tmp, "reg-split");
    let steps = 0;
    // Stop at step 3, between curve rows, so the interval's regularizer sum must be restored.
    await train(opts(split), texts, { hooks: { onStep: () => (steps += 1), shouldStop: () => steps >= 3 } });
    await train(opts(split), texts, { resume: true });
    expect(bitsEqual(weightsOf(path.join(straight, "checkpoints", "step-000006")), weightsOf(path.join(split, "checkpoints", "step-000006")))).toBe(true);
    const a = readCurve(path.join(straight, "learning-curve.csv"));
    const b = readCurve(path.join(split, "learning-curve.csv"));
    expect(b.map((x) => x.train_reg)).toEqual(a.map((x) => x.train_reg));
    await expect(train(tiny(split, { reg: "cosine", regWeight: 2 }), texts, { resume: true })).rejects.toThrow(
      /it was trained with reg="mse", this run asks for "cosine"/,
    );
  });

  it("resumes a checkpoint written before --reg existed as an unregularized run", async () => {
    const out = path.join(tmp, "old");
    let steps = 0;
    await train(tiny(out), texts, { hooks: { onStep: () => (steps += 1), shouldStop: () => steps >= 2 } });
    const stateFile = path.join(out, "checkpoints", "step-000002", "trainer_state.json");
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
    delete state.options.reg;
    delete state.options.regWeight;
    fs.writeFileSync(stateFile, JSON.stringify(state));
    const r = await train(tiny(out), texts, { resume: true });
    expect(r.step).toBe(6);
    await expect(train(tiny(path.join(tmp, "bad-reg"), { reg: "l1" as never }), texts)).rejects.toThrow(/train: 'reg' expected one of none, cosine, mse, mse-mean, got 'l1'/);
    await expect(train(tiny(path.join(tmp, "bad-reg"), { reg: "mse", regWeight: -1 }), texts)).rejects.toThrow(/train: 'regWeight' expected a number in \[0, Infinity\), got -1/);
  });
});
