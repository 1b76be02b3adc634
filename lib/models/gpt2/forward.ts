/**
 * The GPT-2 forward pass (Hugging Face GPT2LMHeadModel semantics), top to bottom:
 * token + learned position embeddings -> n_layers x [LayerNorm -> attention -> residual ->
 * LayerNorm -> MLP (gelu_new) -> residual] -> final LayerNorm -> logits (tied to wte).
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
import type { Gpt2Params } from "./params";

export type { Gpt2LayerParams, Gpt2Params } from "./params";

/**
 * Run GPT-2 on ids [batch, pos] int32 (no padding). Returns n_layers + 1 hidden states
 * [batch, pos, d_model] (state 0 = token + position embeddings, last = after ln_f), the residual
 * before ln_f, and logits [batch, pos, d_vocab] unless opts.logits is false.
 */
export function gpt2Forward(cfg: DecoderConfig, p: Gpt2Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  checkIds("gpt2Forward", cfg, ids);
  if (p.layers.length !== cfg.n_layers) {
    throw new Error(`gpt2Forward: params have ${p.layers.length} layers, config has n_layers=${cfg.n_layers}`);
  }
  ensureGradients();
  const nPos = ids.shape[1];
  const eps = cfg.norm_eps;
  const scale = 1 / Math.sqrt(cfg.d_head);
  return tf.tidy(() => {
    // Token embeddings plus learned positions 0..pos-1: [batch, pos, d_model].
    const positions = tf.slice(p.posEmbed, [0, 0], [nPos, cfg.d_model]); // [pos, d_model]
    let x: tf.Tensor3D = tf.add(embed(p.tokenEmbed, ids), positions);
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
      // Attention input: LayerNorm ln_1, [batch, pos, d_model].
      const h = layerNorm(x, layer.ln1Gain, layer.ln1Bias, eps);
      // Queries, keys, values: [batch, n_heads, pos, d_head].
      const q = splitHeads(linear(h, layer.wq, layer.bq), cfg.n_heads);
      const k = splitHeads(linear(h, layer.wk, layer.bk), cfg.n_heads);
      const v = splitHeads(linear(h, layer.wv, layer.bv), cfg.n_heads);
      // Causal attention with scores scaled by 1/sqrt(d_head): [batch, n_heads, pos, d_head].
      const attn = causalAttention(q, k, v, scale);
      // Merge heads, project (attn.c_proj), add to the residual.
      x = tf.add(x, linear(mergeHeads(attn), layer.wo, layer.bo));

      // MLP input: LayerNorm ln_2.
      const m = layerNorm(x, layer.ln2Gain, layer.ln2Bias, eps);
      // MLP: c_fc [batch, pos, d_mlp] -> gelu_new -> c_proj [batch, pos, d_model], added to the residual.
      x = tf.add(x, linear(activate(cfg.act, linear(m, layer.wIn, layer.bIn)), layer.wOut, layer.bOut));
      // Block output is hidden state l + 1 (the last one is reported after ln_f).
      if (l < cfg.n_layers - 1) hiddenStates.push(x);
    }

    // Final LayerNorm ln_f: the last hidden state.
    const residPreFinalNorm = x;
    const final = layerNorm(x, p.finalGain, p.finalBias, eps);
    hiddenStates.push(final);

    // Logits [batch, pos, d_vocab]: tied to wte unless the checkpoint has its own lm_head.
    if (opts.logits === false) return { hiddenStates, residPreFinalNorm };
    return { hiddenStates, residPreFinalNorm, logits: linear(final, p.lmHead ?? transposeLast2(p.tokenEmbed)) };
  });
}
