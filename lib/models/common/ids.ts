/** Validation of token-id input shared by the forward passes. */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape } from "../../tensor/check";
import type { DecoderConfig } from "../config";

/**
 * Throw unless ids is [batch, pos] int32 with every id in 0..d_vocab-1 and pos within the
 * model's context (n_ctx; only enforced where positions are learned, since rotary models run past it).
 */
export function checkIds(fn: string, cfg: DecoderConfig, ids: tf.Tensor): asserts ids is tf.Tensor2D {
  checkShape(fn, "ids", ids.shape, ["batch", "pos"]);
  if (ids.dtype !== "int32") throw new Error(`${fn}: 'ids' must be int32, got ${ids.dtype}`);
  const nPos = ids.shape[1] as number;
  if (nPos === 0) throw new Error(`${fn}: 'ids' has no positions`);
  if (cfg.rotary_dim === undefined && nPos > cfg.n_ctx) {
    throw new Error(`${fn}: 'ids' has pos=${nPos} but the model has n_ctx=${cfg.n_ctx} learned positions`);
  }
  const values = ids.dataSync();
  for (let i = 0; i < values.length; i++) {
    const id = values[i];
    if (id < 0 || id >= cfg.d_vocab) {
      throw new Error(`${fn}: 'ids' has ${id} at row ${Math.floor(i / nPos)}, pos ${i % nPos}; expected 0..${cfg.d_vocab - 1} (d_vocab=${cfg.d_vocab})`);
    }
  }
}
