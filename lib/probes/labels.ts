/**
 * A closed-form linear probe for token labels (e.g. part-of-speech tags): the least-squares
 * affine map from a state's rows to the one-hot labels, fitted on the train rows (fitAffineMap),
 * and the label of each test row is the argmax of its prediction. The classifier analogue of the
 * paper's per-layer linear probing (their Figure 5), with no training loop to converge.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ScoreOptions } from "../metrics";
import { applyAffineMap, fitAffineMap } from "./closed-form";
import { gatherRows } from "./rows";
import type { TrainTestSplit } from "./split";

/** What {@link labelProbe} measured. */
export interface LabelProbeResult {
  /** The classes, most frequent in the train rows first (ties by name). */
  classes: string[];
  /** Fraction of train / test rows whose label is the argmax of the probe's prediction. */
  trainAccuracy: number;
  testAccuracy: number;
  /** Test accuracy of always answering the most frequent train label. */
  majorityAccuracy: number;
  nTrain: number;
  nTest: number;
}

function oneHot(labels: readonly string[], rows: Int32Array, classIndex: Map<string, number>): tf.Tensor2D {
  const k = classIndex.size;
  const out = new Float32Array(rows.length * k);
  rows.forEach((r, i) => {
    out[i * k + classIndex.get(labels[r])!] = 1;
  });
  return tf.tensor2d(out, [rows.length, k]);
}

/** Fraction of `rows` whose argmax prediction is their label. */
function accuracy(pred: tf.Tensor2D, labels: readonly string[], rows: Int32Array, classes: readonly string[]): number {
  const best = tf.tidy(() => tf.argMax(pred, 1)).dataSync();
  let right = 0;
  rows.forEach((r, i) => {
    if (classes[best[i]] === labels[r]) right++;
  });
  return right / rows.length;
}

/**
 * Fit the probe on `split.train` rows of `x` ([tokens, d_model] row-major) and score it on both
 * sets. `labels` has one label per row; every label of a test row must occur in the train rows.
 */
export function labelProbe(
  x: Float32Array,
  dModel: number,
  labels: readonly string[],
  split: TrainTestSplit,
  opts: ScoreOptions = {},
): LabelProbeResult {
  const n = labels.length;
  if (x.length !== n * dModel) {
    throw new Error(`labelProbe: 'x' has ${x.length} values, expected labels.length x d_model = ${n} x ${dModel}`);
  }
  // Classes by frequency in the train rows.
  const counts = new Map<string, number>();
  for (const r of split.train) counts.set(labels[r], (counts.get(labels[r]) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  for (const r of split.test) {
    if (!classIndex.has(labels[r])) throw new Error(`labelProbe: test row ${r} has label '${labels[r]}', which no train row has`);
  }
  if (classes.length < 2) throw new Error(`labelProbe: the train rows have ${classes.length} label(s); a probe needs at least 2`);

  const rows = (idx: Int32Array) => tf.tensor2d(gatherRows(x, dModel, idx, new Float32Array(idx.length * dModel)), [idx.length, dModel]);
  const xTrain = rows(split.train);
  const xTest = rows(split.test);
  const yTrain = oneHot(labels, split.train, classIndex);
  const map = fitAffineMap(xTrain, yTrain, opts);
  try {
    const predTrain = applyAffineMap(map, xTrain);
    const predTest = applyAffineMap(map, xTest);
    const trainAccuracy = accuracy(predTrain, labels, split.train, classes);
    const testAccuracy = accuracy(predTest, labels, split.test, classes);
    tf.dispose([predTrain, predTest]);
    let majority = 0;
    for (const r of split.test) if (labels[r] === classes[0]) majority++;
    return { classes, trainAccuracy, testAccuracy, majorityAccuracy: majority / split.test.length, nTrain: split.train.length, nTest: split.test.length };
  } finally {
    tf.dispose([xTrain, xTest, yTrain, map.weight]);
  }
}
