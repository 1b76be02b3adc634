/** Validation loss of a model on fixed windows, computed in chunks without gradients. */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../models/config";
import { idsTensor } from "../models/common/ids";
import { llamaForward } from "../models/llama/forward";
import type { ModelWeights } from "../models/roles";
import { sliceBatch, type Batch } from "./data";
import { crossEntropy } from "./loss";
import { consecutiveStateRegularizer, residualStates, type RegularizerKind } from "./regularizer";

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
  return evaluateLossAndRegularizer(cfg, params, windows, rowsPerChunk, "none").loss;
}

/**
 * Mean cross-entropy (as {@link evaluateLoss}) and, unless `reg` is "none", the unweighted
 * regularizer R over the same windows from the same forward passes. Every window has the same
 * number of tokens, so the mean of per-chunk values weighted by rows is the mean over tokens.
 */
export function evaluateLossAndRegularizer(
  cfg: DecoderConfig,
  params: ModelWeights,
  windows: Batch,
  rowsPerChunk: number,
  reg: RegularizerKind,
): { loss: number; reg?: number } {
  let lossSum = 0;
  let regSum = 0;
  for (let start = 0; start < windows.batch; start += rowsPerChunk) {
    const chunk = sliceBatch(windows, start, rowsPerChunk);
    const values = tf.tidy(() => {
      const ids = idsTensor(cfg.d_vocab, chunk.ids, [chunk.batch, chunk.pos]);
      const targets = tf.tensor2d(chunk.targets, [chunk.batch, chunk.pos], "int32");
      const out = llamaForward(cfg, params, ids, { logits: true });
      const loss = crossEntropy(out.logits!, targets);
      return reg === "none" ? loss : tf.stack([loss, consecutiveStateRegularizer(reg, residualStates(out))]);
    });
    const v = values.dataSync();
    values.dispose();
    lossSum += v[0] * chunk.batch;
    if (reg !== "none") regSum += v[1] * chunk.batch;
  }
  return reg === "none" ? { loss: lossSum / windows.batch } : { loss: lossSum / windows.batch, reg: regSum / windows.batch };
}
