/**
 * The original notebook's probe experiment in two calls: build the split data from two states,
 * then compare a trained probe with the closed-form least-squares map on the same split.
 */
import * as tf from "@tensorflow/tfjs-core";
import { linearityScore } from "../metrics/linearity";
import { checkShape } from "../numerics/check";
import { applyAffineMap, fitAffineMap } from "./closed-form";
import { predict, Probe } from "./probe";
import { probeScore } from "./score";
import { TrainTestSplit } from "./split";
import { ProbeData, probeMse } from "./train";

/**
 * Train/test tensors from x [tokens, d_in] and y [tokens, d_out] and a split of their rows.
 * The caller owns (and disposes) the four new tensors.
 */
export function probeData(x: tf.Tensor2D, y: tf.Tensor2D, split: TrainTestSplit): ProbeData {
  const [n] = checkShape("probeData", "x", x.shape, ["tokens", "d_in"]);
  checkShape("probeData", "y", y.shape, [["tokens", n], "d_out"]);
  for (const [name, idx] of [["train", split.train], ["test", split.test]] as const) {
    const bad = idx.find((i) => i < 0 || i >= n);
    if (bad !== undefined) throw new Error(`probeData: split.${name} has row ${bad}, outside 0..${n - 1}`);
  }
  return tf.tidy(() => {
    const train = tf.tensor1d(split.train, "int32");
    const test = tf.tensor1d(split.test, "int32");
    return {
      xTrain: tf.gather(x, train),
      yTrain: tf.gather(y, train),
      xTest: tf.gather(x, test),
      yTest: tf.gather(y, test),
    };
  });
}

/** Disposes the tensors of a {@link ProbeData}. */
export function disposeProbeData(data: ProbeData): void {
  for (const t of [data.xTrain, data.yTrain, data.xTest, data.yTest]) t.dispose();
}

/** One row of {@link compareWithClosedForm}'s table. */
export interface ProbeComparisonRow {
  method: string;
  /** probeScore on the train rows (the linearity score's scale) */
  trainScore: number;
  /** probeScore on the test rows */
  testScore: number;
  /** MSE on the train rows (mean over rows and columns, the training loss's scale) */
  trainMse: number;
  /** MSE on the test rows */
  testMse: number;
}

/**
 * Scores of trained probes next to the closed-form least-squares affine map fitted on the same
 * train rows, plus lib/metrics' linearityScore on the train rows as a cross-check (it must equal
 * the closed form's train score). Rows: one per probe (labelled by `names`), then
 * "closed-form least squares". Score columns on the linearity score's scale.
 */
export function compareWithClosedForm(
  probes: readonly Probe[],
  data: ProbeData,
  names: readonly string[] = probes.map((p) => `${p.kind} probe`),
): { rows: ProbeComparisonRow[]; linearityScoreTrain: number } {
  if (names.length !== probes.length) {
    throw new Error(`compareWithClosedForm: expected ${probes.length} names (one per probe), got ${names.length}`);
  }
  const rows: ProbeComparisonRow[] = probes.map((probe, i) => {
    const trainPred = predict(probe, data.xTrain);
    const testPred = predict(probe, data.xTest);
    try {
      return {
        method: names[i],
        trainScore: probeScore(trainPred, data.yTrain),
        testScore: probeScore(testPred, data.yTest),
        trainMse: probeMse(probe, data.xTrain, data.yTrain),
        testMse: probeMse(probe, data.xTest, data.yTest),
      };
    } finally {
      trainPred.dispose();
      testPred.dispose();
    }
  });
  const map = fitAffineMap(data.xTrain, data.yTrain);
  const trainPred = applyAffineMap(map, data.xTrain);
  const testPred = applyAffineMap(map, data.xTest);
  const mse = (pred: tf.Tensor2D, y: tf.Tensor2D) => tf.tidy(() => tf.mean(tf.squaredDifference(pred, y)).dataSync()[0]);
  try {
    rows.push({
      method: "closed-form least squares",
      trainScore: probeScore(trainPred, data.yTrain),
      testScore: probeScore(testPred, data.yTest),
      trainMse: mse(trainPred, data.yTrain),
      testMse: mse(testPred, data.yTest),
    });
  } finally {
    for (const t of [trainPred, testPred, map.weight]) t.dispose();
  }
  return { rows, linearityScoreTrain: linearityScore(data.xTrain, data.yTrain) };
}
