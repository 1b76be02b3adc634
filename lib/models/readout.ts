/**
 * The readout of a model, applied to any hidden state (the logit lens): the family's final norm,
 * then the unembedding, as the forward pass computes its own logits from its last state:
 *
 *   finalNorm: ln_final with the family's norm (RMSNorm, LayerNorm); a copy when the model has
 *              none (post-LN OPT-350m)
 *   unembed:   unembed_proj (OPT project_out) when present, then the output projection, or
 *              embed^T when tied
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "./config";
import type { ModelFamily } from "./family";
import { linear, transposeLast2 } from "./common/matmul";
import type { ModelWeights, Norm } from "./roles";

export interface Readout {
  /** The final norm, [batch, pos, d_model] -> [batch, pos, d_model] (a copy when the model has none). */
  finalNorm(h: tf.Tensor3D): tf.Tensor3D;
  /** The unembedding, [batch, pos, d_model] -> logits [batch, pos, d_vocab]. */
  unembed(h: tf.Tensor3D): tf.Tensor3D;
}

/** The final norm of `family` with weights `ln` (a copy of h when the model has none). */
export function finalNormOf(family: ModelFamily, cfg: DecoderConfig, ln: Norm | undefined): (h: tf.Tensor3D) => tf.Tensor3D {
  return (h) => (ln === undefined ? tf.clone(h) : family.decoder.norm(h, ln, cfg.norm_eps));
}

/** The readout of resident weights (they stay the caller's). */
export function residentReadout(family: ModelFamily, cfg: DecoderConfig, w: ModelWeights): Readout {
  return {
    finalNorm: finalNormOf(family, cfg, w.ln_final),
    unembed: (h) =>
      tf.tidy(() => {
        const out = w.unembed_proj !== undefined ? linear(h, w.unembed_proj.w, w.unembed_proj.b) : h;
        return w.unembed !== undefined ? linear(out, w.unembed.w, w.unembed.b) : linear(out, transposeLast2(w.embed));
      }),
  };
}
