/** The host transpose used when loading weights equals tf.transpose exactly, across tile edges. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { transposeArray, transposeWeight } from "../../../lib/models/common/transpose";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("transposeWeight", () => {
  for (const [rows, cols] of [[1, 1], [1, 70], [70, 1], [64, 64], [130, 67], [200, 129]]) {
    it(`[${rows}, ${cols}] equals tf.transpose bit for bit`, () => {
      const x = tf.randomNormal([rows, cols], 0, 1, "float32", rows * 1000 + cols) as tf.Tensor2D;
      const mine = transposeWeight(x);
      const theirs = tf.transpose(x);
      expect(mine.shape).toEqual([cols, rows]);
      expect(Array.from(mine.dataSync())).toEqual(Array.from(theirs.dataSync()));
      tf.dispose([x, mine, theirs]);
    });
  }

  it("refuses a length that does not fill the shape", () => {
    expect(() => transposeArray(new Float32Array(5), 2, 3)).toThrow("transposeArray: 5 values do not fill [2, 3]");
  });
});
