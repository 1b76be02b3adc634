/**
 * The readout of a model: final norm, then unembedding, per family, applied to any hidden state
 * (the logit lens). Written against the models API of today (params as each family's converter
 * builds them, from `loadParams`); a future hook-point API of the models would replace it.
 *
 *   llama: RMSNorm(model.norm) -> lm_head (or embed_tokens^T when tied)
 *   gpt2:  LayerNorm(ln_f) -> lm_head (or wte^T)
 *   opt:   LayerNorm(final_layer_norm) when the model has one (pre-LN; post-LN OPT-350m has none)
 *          -> project_out when d_embed != d_model -> embed_tokens^T
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../models/config";
import { linear, transposeLast2 } from "../models/common/matmul";
import { layerNorm, rmsNorm } from "../models/common/norm";
import type { Gpt2Params } from "../models/gpt2/params";
import type { LlamaParams } from "../models/llama/params";
import type { OptParams } from "../models/opt/params";

export interface Readout {
  /** The final norm, [batch, pos, d_model] -> [batch, pos, d_model] (identity when the model has none). */
  finalNorm(h: tf.Tensor3D): tf.Tensor3D;
  /** The unembedding, [batch, pos, d_model] -> logits [batch, pos, d_vocab]. */
  unembed(h: tf.Tensor3D): tf.Tensor3D;
}

/** The readout of a family's params (the opaque `params` of loadParams). */
export function readoutOf(cfg: DecoderConfig, params: unknown): Readout {
  const eps = cfg.norm_eps;
  switch (cfg.family) {
    case "llama": {
      const p = params as LlamaParams;
      return {
        finalNorm: (h) => rmsNorm(h, p.finalNorm, eps),
        unembed: (h) => tf.tidy(() => linear(h, p.lmHead ?? transposeLast2(p.embed))),
      };
    }
    case "gpt2": {
      const p = params as Gpt2Params;
      return {
        finalNorm: (h) => layerNorm(h, p.finalGain, p.finalBias, eps),
        unembed: (h) => tf.tidy(() => linear(h, p.lmHead ?? transposeLast2(p.tokenEmbed))),
      };
    }
    case "opt": {
      const p = params as OptParams;
      return {
        finalNorm: (h) =>
          p.finalGain !== undefined && p.finalBias !== undefined ? layerNorm(h, p.finalGain, p.finalBias, eps) : tf.clone(h),
        unembed: (h) =>
          tf.tidy(() => {
            const out = p.projectOut !== undefined ? linear(h, p.projectOut) : h;
            return linear(out, p.lmHead ?? transposeLast2(p.tokenEmbed));
          }),
      };
    }
  }
}
