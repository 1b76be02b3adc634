/**
 * The Llama forward pass (Hugging Face LlamaForCausalLM semantics), top to bottom:
 * embedding -> n_layers x [RMSNorm -> attention with rotary q/k and grouped-query kv -> residual
 * -> RMSNorm -> SwiGLU MLP -> residual] -> final RMSNorm -> logits.
 *
 * A pure function of (config, params, ids): differentiable with tf.variableGrads over the params.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import { activate } from "../common/activations";
import { causalAttention, mergeHeads, splitHeads } from "../common/attention";
import { embed } from "../common/embedding";
import { ensureGradients } from "../common/gradients";
import { checkIds } from "../common/ids";
import { linear, transposeLast2 } from "../common/matmul";
import { rmsNorm } from "../common/norm";
import { applyRotary, rotaryTables } from "../common/rotary";
import type { ForwardOptions, ForwardOutput } from "../types";
import type { LlamaParams } from "./params";

export type { LlamaLayerParams, LlamaParams } from "./params";

/**
 * Run a Llama model on ids [batch, pos] int32 (no padding). Returns n_layers + 1 hidden states
 * [batch, pos, d_model] (state 0 = token embeddings, last = after the final RMSNorm), the
 * residual before the final norm, and logits [batch, pos, d_vocab] unless opts.logits is false.
 */
export function llamaForward(cfg: DecoderConfig, p: LlamaParams, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  checkIds("llamaForward", cfg, ids);
  if (p.layers.length !== cfg.n_layers) {
    throw new Error(`llamaForward: params have ${p.layers.length} layers, config has n_layers=${cfg.n_layers}`);
  }
  ensureGradients();
  const nPos = ids.shape[1];
  const eps = cfg.norm_eps;
  const scale = 1 / Math.sqrt(cfg.d_head);
  return tf.tidy(() => {
    // Rotary tables for positions 0..pos-1: cos, sin [pos, d_head].
    const { cos, sin } = rotaryTables(nPos, cfg.d_head, cfg.rope_theta ?? 10000);

    // Token embeddings: [batch, pos, d_model]. Llama has no learned positions.
    let x = embed(p.embed, ids);
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
      // Attention input: RMSNorm of the residual stream, [batch, pos, d_model].
      const h = rmsNorm(x, layer.attnNorm, eps);
      // Queries [batch, n_heads, pos, d_head]; keys and values [batch, n_kv_heads, pos, d_head].
      const q = splitHeads(linear(h, layer.wq, layer.bq), cfg.n_heads);
      const k = splitHeads(linear(h, layer.wk, layer.bk), cfg.n_kv_heads);
      const v = splitHeads(linear(h, layer.wv, layer.bv), cfg.n_kv_heads);
      // Rotary position embedding on queries and keys (HF rotate_half layout).
      const qRot = applyRotary(q, cos, sin);
      const kRot = applyRotary(k, cos, sin);
      // Causal attention, each query head reading its kv group: [batch, n_heads, pos, d_head].
      const attn = causalAttention(qRot, kRot, v, scale);
      // Merge heads [batch, pos, n_heads * d_head], project to d_model, add to the residual.
      x = tf.add(x, linear(mergeHeads(attn), layer.wo, layer.bo));

      // MLP input: RMSNorm of the residual stream, [batch, pos, d_model].
      const m = rmsNorm(x, layer.mlpNorm, eps);
      // SwiGLU: act(gate) * up, [batch, pos, d_mlp].
      const gated = tf.mul(activate(cfg.act, linear(m, layer.wGate, layer.bGate)), linear(m, layer.wUp, layer.bUp));
      // Down projection back to d_model, added to the residual.
      x = tf.add(x, linear(gated, layer.wDown, layer.bDown));
      // Block output is hidden state l + 1 (the last block's is replaced by its normed version).
      if (l < cfg.n_layers - 1) hiddenStates.push(x);
    }

    // Final RMSNorm: the last hidden state, as HF reports it.
    const residPreFinalNorm = x;
    const final = rmsNorm(x, p.finalNorm, eps);
    hiddenStates.push(final);

    // Logits: [batch, pos, d_vocab] through lm_head, or the embedding when tied.
    if (opts.logits === false) return { hiddenStates, residPreFinalNorm };
    const head = p.lmHead ?? transposeLast2(p.embed);
    return { hiddenStates, residPreFinalNorm, logits: linear(final, head) };
  });
}
