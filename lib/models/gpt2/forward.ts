/**
 * The GPT-2 forward pass (Hugging Face GPT2LMHeadModel semantics): token + learned position
 * embeddings -> n_layers x block -> final LayerNorm ln_f -> logits tied to wte
 * (lib/models/common/forward.ts runs the shared parts). A block, top to bottom: LayerNorm ln_1 ->
 * attention -> residual -> LayerNorm ln_2 -> MLP (gelu_new) -> residual.
 *
 * A pure, differentiable function of (config, weights, ids).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import { activate } from "../common/activations";
import { causalAttention, mergeHeads, splitHeads } from "../common/attention";
import { runDecoder, type BlockStates, type FamilyBlock } from "../common/forward";
import { linear } from "../common/matmul";
import { layerNormOf } from "../common/norm";
import type { BlockWeights, ModelWeights } from "../roles";
import type { ForwardOptions, ForwardOutput } from "../types";

/** One GPT-2 block on resid_pre [batch, pos, d_model]. */
export function gpt2Block(cfg: DecoderConfig, b: BlockWeights, residPre: tf.Tensor3D): BlockStates {
  // Attention input: LayerNorm ln_1, [batch, pos, d_model].
  const h = layerNormOf(residPre, b.ln1, cfg.norm_eps);
  // Queries, keys, values: [batch, n_heads, pos, d_head].
  const q = splitHeads(linear(h, b.attn.q.w, b.attn.q.b), cfg.n_heads);
  const k = splitHeads(linear(h, b.attn.k.w, b.attn.k.b), cfg.n_heads);
  const v = splitHeads(linear(h, b.attn.v.w, b.attn.v.b), cfg.n_heads);
  // Causal attention with scores scaled by 1/sqrt(d_head): [batch, n_heads, pos, d_head].
  const attn = causalAttention(q, k, v, 1 / Math.sqrt(cfg.d_head));
  // Merge heads and project (attn.c_proj): attn_out, added to the residual.
  const attnOut = linear(mergeHeads(attn), b.attn.o.w, b.attn.o.b);
  const residMid = tf.add<tf.Tensor3D>(residPre, attnOut);

  // MLP input: LayerNorm ln_2.
  const m = layerNormOf(residMid, b.ln2, cfg.norm_eps);
  // MLP: c_fc [batch, pos, d_mlp] -> gelu_new -> c_proj [batch, pos, d_model]: mlp_out.
  const mlpOut = linear(activate(cfg.act, linear(m, b.mlp.in.w, b.mlp.in.b)), b.mlp.out.w, b.mlp.out.b);
  return { attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: tf.add<tf.Tensor3D>(residMid, mlpOut) };
}

export const GPT2_BLOCK: FamilyBlock<void> = {
  name: "gpt2Forward",
  prepare: () => undefined,
  block: (cfg, b, x) => gpt2Block(cfg, b, x),
  norm: layerNormOf,
};

/**
 * Run GPT-2 on ids [batch, pos] int32 (no padding). Returns n_layers + 1 hidden states
 * [batch, pos, d_model] (state 0 = token + position embeddings, last = after ln_f), the residual
 * before ln_f, logits [batch, pos, d_vocab] unless opts.logits is false, and the named points.
 */
export function gpt2Forward(cfg: DecoderConfig, p: ModelWeights, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  return runDecoder(GPT2_BLOCK, cfg, p, ids, opts);
}
