/** Validation loss of a model on fixed windows, computed in chunks without gradients. */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../models/config";
import { idsTensor } from "../models/common/ids";
import { llamaForward } from "../models/llama/forward";
import type { ModelWeights } from "../models/roles";
import { sliceBatch, type Batch } from "./data";
import { crossEntropy } from "./loss";

/**
 * Mean cross-entropy in nats/token over all rows of `windows`, `rowsPerChunk` sequences per
 * forward pass (memory stays bounded whatever the number of windows).
 */
export function evaluateLoss(
  cfg: DecoderConfig,
  params: ModelWeights,
  windows: Batch,
  rowsPerChunk: number,
): number {
  let sum = 0;
  for (let start = 0; start < windows.batch; start += rowsPerChunk) {
    const chunk = sliceBatch(windows, start, rowsPerChunk);
    const loss = tf.tidy(() => {
      const ids = idsTensor(cfg.d_vocab, chunk.ids, [chunk.batch, chunk.pos]);
      const targets = tf.tensor2d(chunk.targets, [chunk.batch, chunk.pos], "int32");
      const out = llamaForward(cfg, params, ids, { logits: true });
      return crossEntropy(out.logits!, targets);
    });
    sum += loss.dataSync()[0] * chunk.batch;
    loss.dispose();
  }
  return sum / windows.batch;
}
