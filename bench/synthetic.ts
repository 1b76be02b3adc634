/**
 * Seeded synthetic hidden states with realistic structure, generated block by block so that the
 * 13 x 22,986 x 768 float32 states (918 MB) never need to sit in memory at once.
 * state 0: Gaussian rows with anisotropic column scales and a few outlier dimensions (x30);
 * state s+1 = state s + 0.5 * tanh(2 state s W_s) + 0.05 * noise (a residual stream with a
 * nonlinear update), W_s seeded Gaussian / sqrt(d).
 */
import * as tf from "@tensorflow/tfjs-core";
import { fillNormal, normalRng } from "../lib/numerics";
import type { StateChunk } from "../lib/numerics";

export class SyntheticStates {
  private readonly W: tf.Tensor2D[];
  private readonly colScale: Float32Array;

  constructor(readonly nStates: number, readonly dModel: number, readonly seed = 1) {
    const d = dModel;
    const rng = normalRng(seed);
    this.W = Array.from({ length: nStates - 1 }, () =>
      tf.tensor2d(fillNormal(new Float32Array(d * d), rng).map((v) => v / Math.sqrt(d)), [d, d]),
    );
    this.colScale = Float32Array.from({ length: d }, (_, c) => (c % 97 === 5 ? 30 : 0.5 + ((c * 7919) % 100) / 100));
  }

  /** Rows [start, start+rows) of every state; block b is always generated from the same seed. */
  block(b: number, rows: number): Float32Array[] {
    const d = this.dModel;
    const rng = normalRng(this.seed * 1_000_003 + b);
    const x0 = fillNormal(new Float32Array(rows * d), rng);
    for (let k = 0; k < x0.length; k++) x0[k] *= this.colScale[k % d];
    const out: Float32Array[] = [x0];
    let cur = tf.tensor2d(x0, [rows, d]);
    for (let s = 0; s + 1 < this.nStates; s++) {
      const noise = tf.tensor2d(fillNormal(new Float32Array(rows * d), rng), [rows, d]);
      const next = tf.tidy(() => tf.add(tf.add(cur, tf.mul(0.5, tf.tanh(tf.mul(2, tf.matMul(cur, this.W[s]))))), tf.mul(0.05, noise))) as tf.Tensor2D;
      noise.dispose();
      cur.dispose();
      cur = next;
      out.push(cur.dataSync() as Float32Array);
    }
    cur.dispose();
    return out;
  }

  /** All n rows as chunks of `rows` (the shape HiddenStateDataset.chunks() yields). */
  *chunks(n: number, rows: number): Generator<StateChunk> {
    for (let b = 0, start = 0; start < n; b++, start += rows) {
      const r = Math.min(rows, n - start);
      yield { start, rows: r, states: this.block(b, r) };
    }
  }

  dispose(): void {
    for (const w of this.W) w.dispose();
  }
}
