/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), the one optimizer of the
 * project: the probes (lib/probes, torch.optim.AdamW semantics and defaults) and the model trainer
 * (lib/train: a learning rate per step from the schedule, weight decay on matrices only, state
 * saved in checkpoints) both use this class.
 *
 * tfjs's `tf.train.adam` has no decoupled weight decay and cannot export its moments in a
 * backend-independent way, hence this class. One step for each parameter p with gradient g, at
 * step t (1-based), in the order and bias-correction form of torch's single-tensor AdamW
 * (amsgrad=false, maximize=false):
 *   p <- p * (1 - lr * weightDecay)          decoupled decay (only parameters with decay on)
 *   m <- beta1 * m + (1 - beta1) * g
 *   v <- beta2 * v + (1 - beta2) * g^2
 *   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 */
import * as tf from "@tensorflow/tfjs-core";

/** Hyperparameters of {@link AdamW}; the defaults are torch.optim.AdamW's. */
export interface AdamWOptions {
  /** Learning rate of a {@link AdamW.step} called without one. Default 1e-3. */
  lr?: number;
  /** Decoupled weight decay. Default 0.01. */
  weightDecay?: number;
  /** First-moment decay. Default 0.9. */
  beta1?: number;
  /** Second-moment decay. Default 0.999. */
  beta2?: number;
  /** Added to the bias-corrected sqrt(v). Default 1e-8. */
  eps?: number;
}

/** One trained tensor: its name (the key of its moments in {@link AdamWState}) and whether weight decay applies to it. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
  decay: boolean;
}

/**
 * A parameter given to {@link AdamW}: a plain variable (named by its tfjs name, weight decay on,
 * as `AdamW(model.parameters())` in torch) or a {@link NamedVariable} that chooses both.
 */
export type AdamWParam = tf.Variable | NamedVariable;

/** The optimizer's saved state: step count and both moments of each parameter, by name. */
export interface AdamWState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/** AdamW over a fixed list of tfjs variables. Call {@link step} with one gradient per variable. */
export class AdamW {
  readonly lr: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** The parameters in the order of the gradients {@link step} takes. */
  readonly params: readonly NamedVariable[];
  /** Steps taken so far (t of the bias correction after the next step is t + 1). */
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(params: readonly AdamWParam[], opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    const checks: [string, number, number, number][] = [
      ["lr", this.lr, 0, Infinity],
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
    this.params = params.map((p) => (p instanceof tf.Variable ? { name: p.name, variable: p, decay: true } : p));
    const names = new Set<string>();
    for (const p of this.params) {
      if (names.has(p.name)) throw new Error(`AdamW: parameter name '${p.name}' appears twice`);
      names.add(p.name);
    }
    // tf.tidy frees the zeros tensors the moment variables are copied from.
    this.m = this.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    this.v = this.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /**
   * Apply one update with learning rate `lr` (default: the `lr` option); `grads[i]` is the
   * gradient of the loss with respect to `params[i]`.
   */
  step(grads: readonly tf.Tensor[], lr: number = this.lr): void {
    if (grads.length !== this.params.length) {
      throw new Error(
        `AdamW.step: expected ${this.params.length} gradients (one per parameter), got ${grads.length}`,
      );
    }
    if (!(lr >= 0 && Number.isFinite(lr))) {
      throw new Error(`AdamW.step: 'lr' expected a finite number >= 0, got ${lr}`);
    }
    this.params.forEach(({ name, variable: p }, i) => {
      const g = grads[i];
      if (g.shape.length !== p.shape.length || g.shape.some((s, k) => s !== p.shape[k])) {
        throw new Error(
          `AdamW.step: gradient ${i} ('${name}') has shape [${g.shape.join(", ")}], parameter has [${p.shape.join(", ")}]`,
        );
      }
    });
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    const stepSize = lr / bc1;
    const decayFactor = 1 - lr * this.weightDecay;
    tf.tidy(() => {
      this.params.forEach(({ variable: p, decay }, i) => {
        const g = grads[i];
        // Moments (they do not depend on the decayed weights).
        const m = this.m[i];
        const v = this.v[i];
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        // Decoupled decay (skipped where it would multiply by exactly 1), then the bias-corrected Adam step.
        const decayed = decay && this.weightDecay > 0 ? tf.mul(p, decayFactor) : p;
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
    // Check everything before changing anything, so a bad state leaves the optimizer as it was.
    this.params.forEach(({ name, variable }) => {
      for (const [which, table] of [["m", state.m], ["v", state.v]] as const) {
        const data = table[name];
        if (data === undefined) {
          throw new Error(`AdamW.setState: the saved state has no '${which}' for '${name}'`);
        }
        if (data.length !== variable.size) {
          throw new Error(
            `AdamW.setState: saved '${which}' of '${name}' has ${data.length} values, the parameter has ${variable.size}`,
          );
        }
      }
    });
    tf.tidy(() => {
      this.params.forEach(({ name, variable }, i) => {
        this.m[i].assign(tf.tensor(state.m[name], variable.shape, "float32"));
        this.v[i].assign(tf.tensor(state.v[name], variable.shape, "float32"));
      });
    });
    this.t = state.step;
  }

  /** Free the moment buffers (not the parameters). */
  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
