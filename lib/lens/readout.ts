/**
 * The readout of a model, applied to any hidden state (the logit lens): the final norm, then the
 * unembedding, read from the model's weights by role (lib/models/roles.ts), as the forward pass
 * computes its own logits from its last state:
 *
 *   finalNorm: ln_final (RMSNorm for Llama, LayerNorm for GPT-2/OPT); identity when the model has
 *              none (post-LN OPT-350m)
 *   unembed:   unembed_proj (OPT project_out) when present, then unembed, or embed^T when tied
 */
import * as tf from "@tensorflow/tfjs-core";
import { linear, transposeLast2 } from "../models/common/matmul";
import { layerNormOf, rmsNorm } from "../models/common/norm";
import type { Model } from "../models/types";

export interface Readout {
  /** The final norm, [batch, pos, d_model] -> [batch, pos, d_model] (a copy when the model has none). */
  finalNorm(h: tf.Tensor3D): tf.Tensor3D;
  /** The unembedding, [batch, pos, d_model] -> logits [batch, pos, d_vocab]. */
  unembed(h: tf.Tensor3D): tf.Tensor3D;
}

/** The readout of a loaded model (its weights stay owned by the model). */
export function readoutOf(model: Model): Readout {
  const cfg = model.config, w = model.weights;
  const ln = w.ln_final;
  return {
    finalNorm: (h) => {
      if (ln === undefined) return tf.clone(h);
      return cfg.family === "llama" ? rmsNorm(h, ln.w, cfg.norm_eps) : layerNormOf(h, ln, cfg.norm_eps);
    },
    unembed: (h) =>
      tf.tidy(() => {
        const out = w.unembed_proj !== undefined ? linear(h, w.unembed_proj.w, w.unembed_proj.b) : h;
        return w.unembed !== undefined ? linear(out, w.unembed.w, w.unembed.b) : linear(out, transposeLast2(w.embed));
      }),
  };
}
