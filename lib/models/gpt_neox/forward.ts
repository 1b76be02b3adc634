/**
 * The GPT-NeoX forward pass (Hugging Face GPTNeoXForCausalLM semantics, e.g. Pythia), top to
 * bottom: token embeddings -> n_layers x [LayerNorm -> attention with rotary on the first
 * rotary_dim dimensions of each q/k head -> LayerNorm -> MLP (gelu), combined with the residual
 * in parallel (x + attn(ln1 x) + mlp(ln2 x)) or in sequence] -> final LayerNorm -> embed_out.
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
import { applyRotary, rotaryTables } from "../common/rotary";
import type { ForwardOptions, ForwardOutput } from "../types";
import type { NeoxParams } from "./params";

export type { NeoxLayerParams, NeoxParams } from "./params";

/**
 * Run GPT-NeoX on ids [batch, pos] int32 (no padding). Returns n_layers + 1 hidden states
 * [batch, pos, d_model] (state 0 = token embeddings, last = after final_layer_norm), the
 * residual before the final norm, and logits [batch, pos, d_vocab] unless opts.logits is false.
 */
export function neoxForward(cfg: DecoderConfig, p: NeoxParams, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  checkIds("neoxForward", cfg, ids);
  if (p.layers.length !== cfg.n_layers) {
    throw new Error(`neoxForward: params have ${p.layers.length} layers, config has n_layers=${cfg.n_layers}`);
  }
  ensureGradients();
  const nPos = ids.shape[1];
  const eps = cfg.norm_eps;
  const scale = 1 / Math.sqrt(cfg.d_head);
  const rotaryDim = cfg.rotary_dim ?? cfg.d_head;
  return tf.tidy(() => {
    // Rotary tables for the rotated part of a head: cos, sin [pos, rotary_dim].
    const { cos, sin } = rotaryTables(nPos, rotaryDim, cfg.rope_theta ?? 10000);

    // Token embeddings (embed_in): [batch, pos, d_model]. No learned positions.
    let x = embed(p.tokenEmbed, ids);
    const hiddenStates: tf.Tensor3D[] = [x];

    for (let l = 0; l < cfg.n_layers; l++) {
      const layer = p.layers[l];
      // Attention input: LayerNorm input_layernorm, [batch, pos, d_model].
      const h = layerNorm(x, layer.ln1Gain, layer.ln1Bias, eps);
      // Queries, keys, values: [batch, n_heads, pos, d_head].
      const q = splitHeads(linear(h, layer.wq, layer.bq), cfg.n_heads);
      const k = splitHeads(linear(h, layer.wk, layer.bk), cfg.n_heads);
      const v = splitHeads(linear(h, layer.wv, layer.bv), cfg.n_heads);
      // Rotary on the first rotary_dim dimensions of each head; the rest pass through.
      const attn = causalAttention(applyRotary(q, cos, sin), applyRotary(k, cos, sin), v, scale);
      // Merge heads, project (attention.dense): [batch, pos, d_model].
      const attnOut = linear(mergeHeads(attn), layer.wo, layer.bo);
      // MLP: dense_h_to_4h [batch, pos, d_mlp] -> act -> dense_4h_to_h [batch, pos, d_model].
      const mlp = (m: tf.Tensor3D) => linear(activate(cfg.act, linear(m, layer.wIn, layer.bIn)), layer.wOut, layer.bOut);
      if (cfg.parallel_residual) {
        // Parallel: both sublayers read x; HF adds mlp + attn + x in that order.
        const mlpOut = mlp(layerNorm(x, layer.ln2Gain, layer.ln2Bias, eps));
        x = tf.add(tf.add(mlpOut, attnOut), x);
      } else {
        // Sequential: the MLP reads the residual after attention.
        const mid: tf.Tensor3D = tf.add(attnOut, x);
        x = tf.add(mlp(layerNorm(mid, layer.ln2Gain, layer.ln2Bias, eps)), mid);
      }
      // Block output is hidden state l + 1 (the last one is reported after the final norm).
      if (l < cfg.n_layers - 1) hiddenStates.push(x);
    }

    // Final LayerNorm: the last hidden state.
    const residPreFinalNorm = x;
    const final = layerNorm(x, p.finalGain, p.finalBias, eps);
    hiddenStates.push(final);

    // Logits [batch, pos, d_vocab] through embed_out, or embed_in when tied.
    if (opts.logits === false) return { hiddenStates, residPreFinalNorm };
    return { hiddenStates, residPreFinalNorm, logits: linear(final, p.lmHead ?? transposeLast2(p.tokenEmbed)) };
  });
}
