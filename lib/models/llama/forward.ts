/**
 * The Llama forward pass (Hugging Face LlamaForCausalLM semantics; also Qwen2ForCausalLM and
 * MistralForCausalLM, which differ only in biases and the sliding window): token embeddings ->
 * n_layers x block -> final RMSNorm -> logits (lib/models/common/forward.ts runs the shared
 * parts). A block, top to bottom: RMSNorm -> attention with rotary q/k and grouped-query kv ->
 * residual -> RMSNorm -> SwiGLU MLP -> residual.
 *
 * A pure function of (config, weights, ids): differentiable with tf.variableGrads over the weights.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import { gatedActivation } from "../common/activations";
import { rotaryCausalAttention } from "../common/attention";
import { runDecoder, type BlockStates, type FamilyBlock } from "../common/forward";
import { linear } from "../common/matmul";
import { rmsNorm } from "../common/norm";
import { rotaryTables } from "../common/rotary";
import type { BlockWeights, ModelWeights } from "../roles";
import type { ForwardOptions, ForwardOutput } from "../types";

/** Rotary tables cos, sin [pos, d_head] for positions 0..pos-1, shared by every block of a run. */
interface Rotary {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
}

/** Llama block `layer` on resid_pre [batch, pos, d_model]. */
export function llamaBlock(cfg: DecoderConfig, b: BlockWeights, residPre: tf.Tensor3D, rot: Rotary, layer: number): BlockStates {
  // Attention input: RMSNorm of the residual stream, [batch, pos, d_model].
  const h = rmsNorm(residPre, b.ln1.w, cfg.norm_eps);
  // Queries [batch, pos, n_heads * d_head]; keys and values [batch, pos, n_kv_heads * d_head].
  const q = linear(h, b.attn.q.w, b.attn.q.b);
  const k = linear(h, b.attn.k.w, b.attn.k.b);
  const v = linear(h, b.attn.v.w, b.attn.v.b);
  // Rotary position embedding on queries and keys (HF rotate_half layout), then causal attention,
  // each query head reading its kv group, within the block's sliding window if it has one
  // (Mistral, Qwen2), heads merged: [batch, pos, n_heads * d_head]. In inference on the native
  // route one fused kernel; else splitHeads, applyRotary, causalAttention and mergeHeads.
  const attn = rotaryCausalAttention(q, k, v, rot.cos, rot.sin, cfg.n_heads, cfg.n_kv_heads, 1 / Math.sqrt(cfg.d_head), cfg.attn_window[layer] ?? null);
  // Project to d_model: attn_out.
  const attnOut = linear(attn, b.attn.o.w, b.attn.o.b);
  const residMid = tf.add<tf.Tensor3D>(residPre, attnOut);

  // MLP input: RMSNorm of the residual stream, [batch, pos, d_model].
  const m = rmsNorm(residMid, b.ln2.w, cfg.norm_eps);
  // SwiGLU: act(m @ gate) * (m @ in), [batch, pos, d_mlp].
  const gate = b.mlp.gate;
  if (gate === undefined) throw new Error("llamaForward: a Llama block needs mlp.gate weights");
  const gated = gatedActivation<tf.Tensor3D>(cfg.act, linear(m, gate.w, gate.b), linear(m, b.mlp.in.w, b.mlp.in.b));
  // Down projection back to d_model: mlp_out, added to the residual.
  const mlpOut = linear(gated, b.mlp.out.w, b.mlp.out.b);
  return { attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: tf.add<tf.Tensor3D>(residMid, mlpOut) };
}

export const LLAMA_BLOCK: FamilyBlock<Rotary> = {
  name: "llamaForward",
  prepare: (cfg, nPos) => rotaryTables(nPos, cfg.d_head, cfg.rope_theta ?? 10000),
  block: llamaBlock,
  norm: (x, n, eps) => rmsNorm(x, n.w, eps),
};

/**
 * Run a Llama model on ids [batch, pos] int32 (no padding). Returns n_layers + 1 hidden states
 * [batch, pos, d_model] (state 0 = token embeddings, last = after the final RMSNorm), the
 * residual before the final norm, logits [batch, pos, d_vocab] unless opts.logits is false, and
 * the named points asked for.
 */
export function llamaForward(cfg: DecoderConfig, p: ModelWeights, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  return runDecoder(LLAMA_BLOCK, cfg, p, ids, opts);
}
