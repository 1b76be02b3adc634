import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { ensureGradients } from "../../lib/models/common/gradients";
import { crossEntropy } from "../../lib/train/loss";

beforeAll(async () => {
  await initBackend({ quiet: true });
  ensureGradients();
});

/** float64 reference: mean over tokens of logsumexp(row) - row[target]. */
function reference(logits: number[][], targets: number[]): number {
  let sum = 0;
  logits.forEach((row, i) => {
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    sum += lse - row[targets[i]];
  });
  return sum / targets.length;
}

describe("crossEntropy", () => {
  const rows = [
    [2.0, -1.0, 0.5, 0.0],
    [-3.0, 4.0, 1.0, 0.25],
    [0.1, 0.2, 0.3, 0.4],
    [10.0, -10.0, 5.0, 0.0],
  ];
  const targets = [0, 3, 2, 1];

  it("matches a float64 log-sum-exp reference", () => {
    const logits = tf.tensor3d(rows.flat(), [2, 2, 4]);
    const t = tf.tensor2d(targets, [2, 2], "int32");
    expect(Math.abs(crossEntropy(logits, t).dataSync()[0] - reference(rows, targets))).toBeLessThan(1e-5);
  });

  it("has gradient softmax - onehot, divided by the number of tokens", () => {
    const logits = tf.tensor3d(rows.flat(), [2, 2, 4]);
    const t = tf.tensor2d(targets, [2, 2], "int32");
    const g = tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor3D, t))(logits).dataSync();
    rows.forEach((row, i) => {
      const z = row.reduce((s, x) => s + Math.exp(x), 0);
      row.forEach((x, j) => {
        const want = (Math.exp(x) / z - (j === targets[i] ? 1 : 0)) / 4;
        expect(Math.abs(g[i * 4 + j] - want)).toBeLessThan(1e-6);
      });
    });
  });

  it("rejects targets of another shape", () => {
    expect(() => crossEntropy(tf.zeros([2, 3, 4]) as tf.Tensor3D, tf.zeros([2, 2], "int32") as tf.Tensor2D)).toThrow(
      /crossEntropy: 'targets' expected shape \[batch=2, pos=3\], got \[2, 2\]/,
    );
  });
});
