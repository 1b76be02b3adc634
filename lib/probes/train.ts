/**
 * Training loop of the original notebook's probes: AdamW, MSE loss, mini-batches of shuffled
 * train rows, one train and one test loss per epoch.
 */
import * as tf from "@tensorflow/tfjs-core";
import { AdamW, AdamWOptions } from "../optim/adamw";
import { Probe } from "./probe";
import { mulberry32, permutation } from "./random";
import { gatherRows, rowBlock } from "./rows";
import { checkShape } from "../numerics/check";
import { ensureGradients } from "../models/common/gradients";

/** Rows of a probe's train and test sets. */
export interface ProbeData {
  /** [n_train, d_in] */
  xTrain: tf.Tensor2D;
  /** [n_train, d_out] */
  yTrain: tf.Tensor2D;
  /** [n_test, d_in] */
  xTest: tf.Tensor2D;
  /** [n_test, d_out] */
  yTest: tf.Tensor2D;
}

/** Options of {@link trainProbe}; the defaults are the original notebook's. */
export interface TrainProbeOptions extends AdamWOptions {
  /** Rows per step. Default 16. The last batch of an epoch may be smaller (torch drop_last=false). */
  batchSize?: number;
  /** Passes over the train rows. Default 10. */
  epochs?: number;
  /** Seed of the per-epoch shuffles (mulberry32). Default 0. */
  seed?: number;
  /** Called every 50 steps and after each epoch's last step (e.g. to draw a progress bar). */
  onStep?: (p: StepProgress) => void;
  /** Called after each epoch (e.g. to print or plot as training goes). */
  onEpoch?: (stats: EpochStats) => void;
}

/** Progress within an epoch, as {@link TrainProbeOptions.onStep} reports it. */
export interface StepProgress {
  /** 1-based epoch number, of `epochs`. */
  epoch: number;
  epochs: number;
  /** Steps done in this epoch, of `steps`. */
  step: number;
  steps: number;
  /** Mean mini-batch loss of the epoch so far. */
  loss: number;
}

/** Losses after one epoch. */
export interface EpochStats {
  /** 1-based epoch number */
  epoch: number;
  /** Mean of the epoch's mini-batch MSE losses (each taken before that batch's update), as the original. */
  trainLoss: number;
  /** MSE over the whole test set after the epoch (mean over rows and d_out columns). */
  testLoss: number;
  /** Optimizer steps in this epoch. */
  steps: number;
  /** Wall-clock seconds of the epoch's training steps (not the test evaluation). */
  seconds: number;
}

/** Result of {@link trainProbe}. */
export interface ProbeHistory {
  epochs: EpochStats[];
  /** Total optimizer steps. */
  steps: number;
  /** Total wall-clock seconds, test evaluations included. */
  seconds: number;
}

/**
 * Mean squared error of `probe` on (x, y) over all rows and columns, evaluated `batchRows` rows
 * at a time with the sum kept in float64.
 */
export function probeMse(probe: Probe, x: tf.Tensor2D, y: tf.Tensor2D, batchRows = 4096): number {
  checkShape("probeMse", "x", x.shape, ["rows", ["d_in", probe.dIn]]);
  checkShape("probeMse", "y", y.shape, [["rows", x.shape[0]], ["d_out", probe.dOut]]);
  return mseOnHost(probe, x.dataSync() as Float32Array, y.dataSync() as Float32Array, x.shape[0], batchRows);
}

/** {@link probeMse} on host buffers x: [rows, d_in], y: [rows, d_out]. */
function mseOnHost(probe: Probe, x: Float32Array, y: Float32Array, rows: number, batchRows: number): number {
  let sum = 0;
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    sum += tf.tidy(() => {
      const pred = probe.forward(rowBlock(x, probe.dIn, start, n));
      return tf.sum(tf.squaredDifference(pred, rowBlock(y, probe.dOut, start, n))).dataSync()[0];
    });
  }
  return sum / (rows * probe.dOut);
}

function checkPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`trainProbe: '${name}' expected a positive integer, got ${value}`);
  }
}

/**
 * Train `probe` in place on `data` with AdamW and MSE loss; returns the loss history.
 *
 * Each epoch draws a fresh permutation of the train rows from one seeded generator (like a torch
 * DataLoader with shuffle=True), walks it in batches of `batchSize`, and evaluates the test MSE
 * once at the end. Same probe seed + same options + same data = the same history.
 */
export function trainProbe(probe: Probe, data: ProbeData, opts: TrainProbeOptions = {}): ProbeHistory {
  const batchSize = opts.batchSize ?? 16;
  const epochs = opts.epochs ?? 10;
  checkPositiveInt("batchSize", batchSize);
  checkPositiveInt("epochs", epochs);
  checkShape("trainProbe", "xTrain", data.xTrain.shape, ["n_train", ["d_in", probe.dIn]]);
  const nTrain = data.xTrain.shape[0];
  checkShape("trainProbe", "yTrain", data.yTrain.shape, [["n_train", nTrain], ["d_out", probe.dOut]]);
  checkShape("trainProbe", "xTest", data.xTest.shape, ["n_test", ["d_in", probe.dIn]]);
  const nTest = data.xTest.shape[0];
  checkShape("trainProbe", "yTest", data.yTest.shape, [["n_test", nTest], ["d_out", probe.dOut]]);
  if (nTrain < 1 || nTest < 1) {
    throw new Error(`trainProbe: train and test sets need at least one row, got ${nTrain} and ${nTest}`);
  }

  // tfjs-core's CommonJS entry registers no gradients; this loads them once.
  ensureGradients();
  const optimizer = new AdamW(probe.variables, opts);
  const rand = mulberry32(opts.seed ?? 0);
  const stepsPerEpoch = Math.ceil(nTrain / batchSize);
  const history: EpochStats[] = [];
  const t0 = performance.now();
  const variables = probe.variables as tf.Variable[];
  // Host copies of the data (see rows.ts for why batches are not tf.slice'd).
  const xTrain = data.xTrain.dataSync() as Float32Array;
  const yTrain = data.yTrain.dataSync() as Float32Array;
  const xTest = data.xTest.dataSync() as Float32Array;
  const yTest = data.yTest.dataSync() as Float32Array;
  const xs = new Float32Array(xTrain.length);
  const ys = new Float32Array(yTrain.length);
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      // A fresh permutation each epoch; batches are then contiguous rows of the shuffled copy.
      const order = permutation(nTrain, rand);
      gatherRows(xTrain, probe.dIn, order, xs);
      gatherRows(yTrain, probe.dOut, order, ys);
      const tEpoch = performance.now();
      let lossSum = 0;
      for (let step = 0; step < stepsPerEpoch; step++) {
        const start = step * batchSize;
        const n = Math.min(batchSize, nTrain - start);
        lossSum += tf.tidy(() => {
          const xb = rowBlock(xs, probe.dIn, start, n);
          const yb = rowBlock(ys, probe.dOut, start, n);
          // Loss and gradients of the batch MSE, then one AdamW update.
          const { value, grads } = tf.variableGrads(
            () => tf.mean(tf.squaredDifference(probe.forward(xb), yb)) as tf.Scalar,
            variables,
          );
          optimizer.step(variables.map((v) => grads[v.name]));
          return value.dataSync()[0];
        });
        if (opts.onStep && (step % 50 === 0 || step === stepsPerEpoch - 1)) {
          opts.onStep({ epoch, epochs, step: step + 1, steps: stepsPerEpoch, loss: lossSum / (step + 1) });
        }
      }
      const seconds = (performance.now() - tEpoch) / 1000;
      const stats: EpochStats = {
        epoch,
        trainLoss: lossSum / stepsPerEpoch,
        testLoss: mseOnHost(probe, xTest, yTest, nTest, 4096),
        steps: stepsPerEpoch,
        seconds,
      };
      history.push(stats);
      opts.onEpoch?.(stats);
    }
  } finally {
    optimizer.dispose();
  }
  return { epochs: history, steps: optimizer.steps, seconds: (performance.now() - t0) / 1000 };
}
