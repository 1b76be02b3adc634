/**
 * Probes: small trainable maps from one hidden state to another, as in the original notebook's
 * cell 7 (a linear probe from state 3 to state 4, and an MLP probe).
 */
import * as tf from "@tensorflow/tfjs-core";
import { applyDense, DenseLayer, denseLayer } from "./layer";
import { mulberry32 } from "./random";
import { rowBlock } from "./rows";
import { checkShape } from "../numerics/check";

/** A trainable map [rows, d_in] -> [rows, d_out]. */
export interface Probe {
  readonly kind: "linear" | "mlp";
  readonly dIn: number;
  readonly dOut: number;
  /** The trainable parameters, in a fixed order (the optimizer's order). */
  readonly variables: readonly tf.Variable[];
  /** Differentiable forward pass: [rows, d_in] -> [rows, d_out]. */
  forward(x: tf.Tensor2D): tf.Tensor2D;
  /** Number of trainable scalars. */
  parameterCount(): number;
  dispose(): void;
}

function checkDim(fn: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${fn}: '${name}' expected a positive integer, got ${value}`);
  }
}

function countParams(vars: readonly tf.Variable[]): number {
  return vars.reduce((s, v) => s + v.size, 0);
}

/** Options shared by the probe constructors. */
export interface ProbeInitOptions {
  /** Seed of the parameter initialisation (mulberry32). Default 0. */
  seed?: number;
}

/**
 * Linear probe: `y = x W + b`, d_in -> d_out, like torch `nn.Linear(d_in, d_out)` (including its
 * default initialisation, drawn from a seeded generator).
 */
export class LinearProbe implements Probe {
  readonly kind = "linear" as const;
  readonly layer: DenseLayer;

  constructor(
    readonly dIn: number,
    readonly dOut: number,
    opts: ProbeInitOptions = {},
  ) {
    checkDim("LinearProbe", "dIn", dIn);
    checkDim("LinearProbe", "dOut", dOut);
    this.layer = denseLayer(dIn, dOut, mulberry32(opts.seed ?? 0));
  }

  get variables(): readonly tf.Variable[] {
    return [this.layer.weight, this.layer.bias];
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    checkShape("LinearProbe.forward", "x", x.shape, ["rows", ["d_in", this.dIn]]);
    return applyDense(this.layer, x, true);
  }

  parameterCount(): number {
    return countParams(this.variables);
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/**
 * MLP probe: `y = relu(x W1 + b1) W2 + b2`, d_in -> d_hidden -> d_out.
 *
 * The original notebook's MLP probe declared its second layer as `Linear(embed_dim, hidden_dim)`
 * instead of `Linear(hidden_dim, embed_dim)`: its input size only matched the first layer's
 * output when hidden_dim == embed_dim (any other hidden size fails at the first forward pass),
 * and its output had hidden_dim columns, not the target's embed_dim. Here the second layer is
 * d_hidden -> d_out, so any hidden size works and the output always has d_out columns. The activation is ReLU (the usual choice for this probe; the
 * original's activation is not part of the reproduced behaviour).
 */
export class MlpProbe implements Probe {
  readonly kind = "mlp" as const;
  readonly hidden: DenseLayer;
  readonly output: DenseLayer;

  constructor(
    readonly dIn: number,
    readonly dHidden: number,
    readonly dOut: number,
    opts: ProbeInitOptions = {},
  ) {
    checkDim("MlpProbe", "dIn", dIn);
    checkDim("MlpProbe", "dHidden", dHidden);
    checkDim("MlpProbe", "dOut", dOut);
    const rand = mulberry32(opts.seed ?? 0);
    this.hidden = denseLayer(dIn, dHidden, rand);
    // The fixed defect: Linear(hidden, out), not Linear(in, hidden).
    this.output = denseLayer(dHidden, dOut, rand);
  }

  get variables(): readonly tf.Variable[] {
    return [this.hidden.weight, this.hidden.bias, this.output.weight, this.output.bias];
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    checkShape("MlpProbe.forward", "x", x.shape, ["rows", ["d_in", this.dIn]]);
    // Hidden layer with ReLU, then the output layer.
    return applyDense(this.output, tf.relu(applyDense(this.hidden, x, true)));
  }

  parameterCount(): number {
    return countParams(this.variables);
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/**
 * Apply a probe without gradients, `batchRows` rows at a time (bounded memory):
 * [rows, d_in] -> [rows, d_out].
 */
export function predict(probe: Probe, x: tf.Tensor2D, batchRows = 4096): tf.Tensor2D {
  checkShape("predict", "x", x.shape, ["rows", ["d_in", probe.dIn]]);
  const rows = x.shape[0];
  if (rows <= batchRows) return tf.tidy(() => probe.forward(x));
  const host = x.dataSync() as Float32Array;
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    parts.push(tf.tidy(() => probe.forward(rowBlock(host, probe.dIn, start, n))));
  }
  const out = tf.concat(parts, 0);
  for (const p of parts) p.dispose();
  return out;
}
