/**
 * The OPT forward pass (Hugging Face OPTForCausalLM semantics), top to bottom:
 * token embeddings (-> project_in) + learned positions -> n_layers x block -> final LayerNorm
 * -> (project_out ->) logits tied to the token embedding.
 * Pre-LN blocks (OPT-125m and most sizes): x + attn(LN(x)), then x + fc2(relu(fc1(LN(x)))).
 * Post-LN blocks (OPT-350m): LN(x + attn(x)), then LN(x + fc2(relu(fc1(x)))), no final norm.
 *
 * Hidden states follow HF except for models with project_out (word_embed_proj_dim != d_model):
 * HF reports the last state after project_out (width d_embed); here every state has width
 * d_model, so the last state is taken before project_out. Logits use project_out as HF does.
 *
 * A pure, differentiable function of (config, params, ids).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import { activate } from "../common/activations";
import { causalAttention, mergeHeads, splitHeads } from "../common/attention";
import { embed } from "../common/embedding";
import { ensureGradients } from "../common/gradients";
import { checkIds } from "../common/ids";
import { linear, transposeLast2 } from "../common/matmul";
import { layerNorm } from "../common/norm";
import type { ForwardOptions, ForwardOutput } from "../types";
import type { OptLayerParams, OptParams } from "./params";

export type { OptLayerParams, OptParams } from "./params";

/** Self-attention of one block on its (already normed, for pre-LN) input: [batch, pos, d_model]. */
function attention(cfg: DecoderConfig, layer: OptLayerParams, h: tf.Tensor3D): tf.Tensor3D {
  // Queries, keys, values: [batch, n_heads, pos, d_head].
  const q = splitHeads(linear(h, layer.wq, layer.bq), cfg.n_heads);
  const k = splitHeads(linear(h, layer.wk, layer.bk), cfg.n_heads);
  const v = splitHeads(linear(h, layer.wv, layer.bv), cfg.n_heads);
  // Causal attention scaled by 1/sqrt(d_head), heads merged, out_proj.
  return linear(mergeHeads(causalAttention(q, k, v, 1 / Math.sqrt(cfg.d_head))), layer.wo, layer.bo);
}

/** MLP of one block: fc1 [batch, pos, d_mlp] -> relu -> fc2 [batch, pos, d_model]. */
function mlp(cfg: DecoderConfig, layer: OptLayerParams, h: tf.Tensor3D): tf.Tensor3D {
  return linear(activate(cfg.act, linear(h, layer.wFc1, layer.bFc1)), layer.wFc2, layer.bFc2);
}

/**
 * Run OPT on ids [batch, pos] int32 (no padding; positions are 0..pos-1). Returns n_layers + 1
 * hidden states [batch, pos, d_model], the residual before the final norm, and logits
 * [batch, pos, d_vocab] unless opts.logits is false.
 */
export function optForward(cfg: DecoderConfig, p: OptParams, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  checkIds("optForward", cfg, ids);
  if (p.layers.length !== cfg.n_layers) {
    throw new Error(`optForward: params have ${p.layers.length} layers, config has n_layers=${cfg.n_layers}`);
  }
  ensureGradients();
  const nPos = ids.shape[1];
  const eps = cfg.norm_eps;
  return tf.tidy(() => {
    // Token embeddings [batch, pos, d_embed], projected to d_model when d_embed != d_model.
    let tokens: tf.Tensor3D = embed(p.tokenEmbed, ids);
    if (p.projectIn !== undefined) tokens = linear(tokens, p.projectIn);
    // Plus learned positions 0..pos-1 (offset rows already removed by the converter).
    const positions = tf.slice(p.posEmbed, [0, 0], [nPos, cfg.d_model]); // [pos, d_model]
    let x: tf.Tensor3D = tf.add(tokens, positions);
    const hiddenStates: tf.Tensor3D[] = [x];

    for (let l = 0; l < cfg.n_layers; l++) {
      // A replaced block (lib/interventions) maps resid_pre to resid_post by its own function.
      const replaced = opts.replaceBlocks?.get(l);
      if (replaced !== undefined) {
        x = replaced(x);
        if (l < cfg.n_layers - 1) hiddenStates.push(x);
        continue;
      }
      const layer = p.layers[l];
      if (cfg.pre_norm) {
        // Pre-LN: residual + attention(LayerNorm(residual)).
        x = tf.add(x, attention(cfg, layer, layerNorm(x, layer.attnNormGain, layer.attnNormBias, eps)));
        // Pre-LN: residual + MLP(LayerNorm(residual)).
        x = tf.add(x, mlp(cfg, layer, layerNorm(x, layer.mlpNormGain, layer.mlpNormBias, eps)));
      } else {
        // Post-LN (OPT-350m): LayerNorm(residual + attention(residual)).
        x = layerNorm(tf.add(x, attention(cfg, layer, x)), layer.attnNormGain, layer.attnNormBias, eps);
        // Post-LN: LayerNorm(residual + MLP(residual)).
        x = layerNorm(tf.add(x, mlp(cfg, layer, x)), layer.mlpNormGain, layer.mlpNormBias, eps);
      }
      // Block output is hidden state l + 1 (the last one is reported after the final norm).
      if (l < cfg.n_layers - 1) hiddenStates.push(x);
    }

    // Final LayerNorm (pre-LN models only): the last hidden state.
    const residPreFinalNorm = x;
    const final =
      p.finalGain !== undefined && p.finalBias !== undefined ? layerNorm(x, p.finalGain, p.finalBias, eps) : x;
    hiddenStates.push(final);

    // Logits [batch, pos, d_vocab]: project_out to d_embed if present, then the (tied) head.
    if (opts.logits === false) return { hiddenStates, residPreFinalNorm };
    const out = p.projectOut !== undefined ? linear(final, p.projectOut) : final;
    return { hiddenStates, residPreFinalNorm, logits: linear(out, p.lmHead ?? transposeLast2(p.tokenEmbed)) };
  });
}
