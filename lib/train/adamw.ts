/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") for training the
 * project's transformer, with a learning rate given at every step (for the schedule) and a state
 * that can be saved to and restored from a checkpoint.
 *
 * tfjs's `tf.train.adam` has no decoupled weight decay and cannot export its moments in a
 * backend-independent way, hence this class. One step for each parameter p with gradient g, at
 * step t (1-based), as in PyTorch's `torch.optim.AdamW` (amsgrad=false):
 *   p <- p * (1 - lr * weightDecay)          decoupled decay (only parameters with decay on)
 *   m <- beta1 * m + (1 - beta1) * g
 *   v <- beta2 * v + (1 - beta2) * g^2
 *   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 */
import * as tf from "@tensorflow/tfjs-core";

/** Hyperparameters of {@link AdamW} (the learning rate comes with each step). */
export interface AdamWOptions {
  /** Decoupled weight decay. Default 0.1. */
  weightDecay?: number;
  /** First-moment decay. Default 0.9. */
  beta1?: number;
  /** Second-moment decay. Default 0.95 (common for transformer language models). */
  beta2?: number;
  /** Added to the bias-corrected sqrt(v). Default 1e-8. */
  eps?: number;
}

/** One trained tensor: its name (used in checkpoints) and whether weight decay applies to it. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
  decay: boolean;
}

/** The optimizer's saved state: step count and both moments of each parameter, by name. */
export interface AdamWState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export class AdamW {
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly params: readonly NamedVariable[],
    opts: AdamWOptions = {},
  ) {
    this.weightDecay = opts.weightDecay ?? 0.1;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    const checks: [string, number, number, number][] = [
      ["weightDecay", this.weightDecay, 0, Infinity],
      ["beta1", this.beta1, 0, 1],
      ["beta2", this.beta2, 0, 1],
      ["eps", this.eps, 0, Infinity],
    ];
    for (const [name, value, lo, hi] of checks) {
      if (!(value >= lo && value < hi)) {
        throw new Error(`AdamW: '${name}' expected a number in [${lo}, ${hi}), got ${value}`);
      }
    }
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`AdamW: parameter name '${p.name}' appears twice`);
      names.add(p.name);
    }
    this.m = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
    this.v = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** Apply one update with learning rate `lr`; `grads[i]` belongs to `params[i]`. */
  step(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.params.length) {
      throw new Error(
        `AdamW.step: expected ${this.params.length} gradients (one per parameter), got ${grads.length}`,
      );
    }
    if (!(lr >= 0 && Number.isFinite(lr))) {
      throw new Error(`AdamW.step: 'lr' expected a finite number >= 0, got ${lr}`);
    }
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    const stepSize = lr / bc1;
    tf.tidy(() => {
      this.params.forEach(({ name, variable: p, decay }, i) => {
        const g = grads[i];
        if (g.shape.length !== p.shape.length || g.shape.some((s, k) => s !== p.shape[k])) {
          throw new Error(
            `AdamW.step: gradient of '${name}' has shape [${g.shape.join(", ")}], parameter has [${p.shape.join(", ")}]`,
          );
        }
        // Moments (they do not depend on the decayed weights).
        const m = this.m[i];
        const v = this.v[i];
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        // Decoupled decay, then the bias-corrected Adam step.
        const decayed = decay && this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  /** Copy of the state (moments read back to the CPU), for a checkpoint. */
  getState(): AdamWState {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    this.params.forEach(({ name }, i) => {
      m[name] = this.m[i].dataSync() as Float32Array;
      v[name] = this.v[i].dataSync() as Float32Array;
    });
    return { step: this.t, m, v };
  }

  /** Restore a state from {@link getState}; every parameter must be present with its size. */
  setState(state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new Error(`AdamW.setState: 'step' expected an integer >= 0, got ${state.step}`);
    }
    this.params.forEach(({ name, variable }, i) => {
      for (const [which, table, target] of [
        ["m", state.m, this.m[i]],
        ["v", state.v, this.v[i]],
      ] as const) {
        const data = table[name];
        if (data === undefined) {
          throw new Error(`AdamW.setState: the saved state has no '${which}' for '${name}'`);
        }
        if (data.length !== variable.size) {
          throw new Error(
            `AdamW.setState: saved '${which}' of '${name}' has ${data.length} values, the parameter has ${variable.size}`,
          );
        }
        target.assign(tf.tensor(data, variable.shape, "float32"));
      }
    });
    this.t = state.step;
  }

  /** Free the moment buffers (not the parameters). */
  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
