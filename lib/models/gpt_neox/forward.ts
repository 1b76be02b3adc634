/**
 * The GPT-NeoX forward pass (Hugging Face GPTNeoXForCausalLM semantics, e.g. Pythia): token
 * embeddings -> n_layers x block -> final LayerNorm -> embed_out (lib/models/common/forward.ts
 * runs the shared parts). A block, top to bottom: LayerNorm -> attention with rotary on the first
 * rotary_dim dimensions of each q/k head -> LayerNorm -> MLP (gelu), combined with the residual
 * in parallel (x + attn(ln1 x) + mlp(ln2 x), use_parallel_residual) or in sequence.
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
import { applyRotary, rotaryTables } from "../common/rotary";
import type { BlockWeights, ModelWeights } from "../roles";
import type { ForwardOptions, ForwardOutput } from "../types";

/** Rotary tables cos, sin [pos, rotary_dim] for positions 0..pos-1, shared by every block of a run. */
interface Rotary {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
}

/**
 * One GPT-NeoX block on resid_pre [batch, pos, d_model]. With the parallel residual the MLP reads
 * resid_pre, not resid_mid; resid_mid is still reported as resid_pre + attn_out (the attention's
 * contribution alone), and resid_post = resid_pre + attn_out + mlp_out.
 */
export function neoxBlock(cfg: DecoderConfig, b: BlockWeights, residPre: tf.Tensor3D, rot: Rotary): BlockStates {
  // Attention input: LayerNorm input_layernorm, [batch, pos, d_model].
  const h = layerNormOf(residPre, b.ln1, cfg.norm_eps);
  // Queries, keys, values: [batch, n_heads, pos, d_head].
  const q = splitHeads(linear(h, b.attn.q.w, b.attn.q.b), cfg.n_heads);
  const k = splitHeads(linear(h, b.attn.k.w, b.attn.k.b), cfg.n_heads);
  const v = splitHeads(linear(h, b.attn.v.w, b.attn.v.b), cfg.n_heads);
  // Rotary on the first rotary_dim dimensions of each q/k head (the rest pass through), then
  // causal attention: [batch, n_heads, pos, d_head].
  const attn = causalAttention(applyRotary(q, rot.cos, rot.sin), applyRotary(k, rot.cos, rot.sin), v, 1 / Math.sqrt(cfg.d_head));
  // Merge heads and project (attention.dense): attn_out [batch, pos, d_model].
  const attnOut = linear(mergeHeads(attn), b.attn.o.w, b.attn.o.b);
  const residMid = tf.add<tf.Tensor3D>(residPre, attnOut);

  // MLP input: LayerNorm post_attention_layernorm of resid_pre (parallel) or resid_mid (sequential).
  const m = layerNormOf(cfg.parallel_residual ? residPre : residMid, b.ln2, cfg.norm_eps);
  // MLP: dense_h_to_4h [batch, pos, d_mlp] -> act -> dense_4h_to_h: mlp_out [batch, pos, d_model].
  const mlpOut = linear(activate(cfg.act, linear(m, b.mlp.in.w, b.mlp.in.b)), b.mlp.out.w, b.mlp.out.b);
  // Output, summed in HF's order: parallel mlp + attn + x; sequential mlp + (attn + x).
  const residPost = cfg.parallel_residual
    ? tf.add<tf.Tensor3D>(tf.add(mlpOut, attnOut), residPre)
    : tf.add<tf.Tensor3D>(mlpOut, residMid);
  return { attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: residPost };
}

export const NEOX_BLOCK: FamilyBlock<Rotary> = {
  name: "neoxForward",
  prepare: (cfg, nPos) => rotaryTables(nPos, cfg.rotary_dim ?? cfg.d_head, cfg.rope_theta ?? 10000),
  block: (cfg, b, x, rot) => neoxBlock(cfg, b, x, rot),
  norm: layerNormOf,
};

/**
 * Run GPT-NeoX on ids [batch, pos] int32 (no padding). Returns n_layers + 1 hidden states
 * [batch, pos, d_model] (state 0 = token embeddings, last = after final_layer_norm), the residual
 * before the final norm, logits [batch, pos, d_vocab] unless opts.logits is false, and the named
 * points asked for.
 */
export function neoxForward(cfg: DecoderConfig, p: ModelWeights, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  return runDecoder(NEOX_BLOCK, cfg, p, ids, opts);
}
