/**
 * AdamW (Loshchilov & Hutter) with PyTorch's `torch.optim.AdamW` semantics and defaults.
 *
 * One step for each parameter p with gradient g, at step t (1-based):
 *   p <- p - lr * weightDecay * p                      (decoupled weight decay, applied first)
 *   m <- beta1 * m + (1 - beta1) * g
 *   v <- beta2 * v + (1 - beta2) * g^2
 *   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * This is the order and bias-correction form of torch's single-tensor implementation
 * (amsgrad=false, maximize=false). Weight decay applies to every parameter given, biases
 * included, as `AdamW(model.parameters())` does in the original notebook.
 */
import * as tf from "@tensorflow/tfjs-core";

/** Hyperparameters of {@link AdamW}; defaults are PyTorch's. */
export interface AdamWOptions {
  /** Learning rate. Default 1e-3. */
  lr?: number;
  /** Decoupled weight decay. Default 0.01 (torch.optim.AdamW's default). */
  weightDecay?: number;
  /** First-moment decay. Default 0.9. */
  beta1?: number;
  /** Second-moment decay. Default 0.999. */
  beta2?: number;
  /** Added to the bias-corrected sqrt(v). Default 1e-8. */
  eps?: number;
}

/** AdamW over a fixed list of tfjs variables. Call {@link step} with one gradient per variable. */
export class AdamW {
  readonly lr: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Steps taken so far (t of the bias correction after the next step is t + 1). */
  private t = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(
    readonly params: readonly tf.Variable[],
    opts: AdamWOptions = {},
  ) {
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
    // tf.tidy frees the zeros tensors the variables were made from.
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.t;
  }

  /** Apply one update. `grads[i]` is the gradient of the loss with respect to `params[i]`. */
  step(grads: readonly tf.Tensor[]): void {
    if (grads.length !== this.params.length) {
      throw new Error(
        `AdamW.step: expected ${this.params.length} gradients (one per parameter), got ${grads.length}`,
      );
    }
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    const stepSize = this.lr / bc1;
    const decay = 1 - this.lr * this.weightDecay;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i];
        if (g.shape.length !== p.shape.length || g.shape.some((s, k) => s !== p.shape[k])) {
          throw new Error(
            `AdamW.step: gradient ${i} has shape [${g.shape.join(", ")}], parameter has [${p.shape.join(", ")}]`,
          );
        }
        // Moments first (they do not depend on the decayed weights).
        const m = this.m[i];
        const v = this.v[i];
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        // Decoupled decay, then the bias-corrected Adam step.
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        p.assign(tf.sub(tf.mul(p, decay), tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  /** Free the optimizer's moment buffers (not the parameters). */
  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
