/**
 * The OPT forward pass (Hugging Face OPTForCausalLM semantics): token embeddings (-> project_in)
 * + learned positions -> n_layers x block -> final LayerNorm -> (project_out ->) logits tied to
 * the token embedding (lib/models/common/forward.ts runs the shared parts).
 * Pre-LN blocks (OPT-125m and most sizes): x + attn(LN(x)), then x + fc2(relu(fc1(LN(x)))).
 * Post-LN blocks (OPT-350m): LN(x + attn(x)), then LN(x + fc2(relu(fc1(x)))), no final norm.
 *
 * Hidden states follow HF except for models with project_out (word_embed_proj_dim != d_model):
 * HF reports the last state after project_out (width d_embed); here every state has width
 * d_model, so the last state is taken before project_out. Logits use project_out as HF does.
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

/** Self-attention of one block on its (already normed, for pre-LN) input: [batch, pos, d_model]. */
function attention(cfg: DecoderConfig, b: BlockWeights, h: tf.Tensor3D): tf.Tensor3D {
  // Queries, keys, values: [batch, n_heads, pos, d_head].
  const q = splitHeads(linear(h, b.attn.q.w, b.attn.q.b), cfg.n_heads);
  const k = splitHeads(linear(h, b.attn.k.w, b.attn.k.b), cfg.n_heads);
  const v = splitHeads(linear(h, b.attn.v.w, b.attn.v.b), cfg.n_heads);
  // Causal attention scaled by 1/sqrt(d_head), heads merged, out_proj.
  return linear(mergeHeads(causalAttention(q, k, v, 1 / Math.sqrt(cfg.d_head))), b.attn.o.w, b.attn.o.b);
}

/** MLP of one block: fc1 [batch, pos, d_mlp] -> relu -> fc2 [batch, pos, d_model]. */
function mlp(cfg: DecoderConfig, b: BlockWeights, h: tf.Tensor3D): tf.Tensor3D {
  return linear(activate(cfg.act, linear(h, b.mlp.in.w, b.mlp.in.b)), b.mlp.out.w, b.mlp.out.b);
}

/** One OPT block on resid_pre [batch, pos, d_model]. */
export function optBlock(cfg: DecoderConfig, b: BlockWeights, residPre: tf.Tensor3D): BlockStates {
  const eps = cfg.norm_eps;
  if (cfg.pre_norm) {
    // Pre-LN: residual + attention(LayerNorm(residual)).
    const attnOut = attention(cfg, b, layerNormOf(residPre, b.ln1, eps));
    const residMid = tf.add<tf.Tensor3D>(residPre, attnOut);
    // Pre-LN: residual + MLP(LayerNorm(residual)).
    const mlpOut = mlp(cfg, b, layerNormOf(residMid, b.ln2, eps));
    return { attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: tf.add<tf.Tensor3D>(residMid, mlpOut) };
  }
  // Post-LN (OPT-350m): LayerNorm(residual + attention(residual)).
  const attnOut = attention(cfg, b, residPre);
  const residMid = layerNormOf(tf.add<tf.Tensor3D>(residPre, attnOut), b.ln1, eps);
  // Post-LN: LayerNorm(residual + MLP(residual)).
  const mlpOut = mlp(cfg, b, residMid);
  return { attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: layerNormOf(tf.add<tf.Tensor3D>(residMid, mlpOut), b.ln2, eps) };
}

export const OPT_BLOCK: FamilyBlock<void> = {
  name: "optForward",
  prepare: () => undefined,
  block: (cfg, b, x) => optBlock(cfg, b, x),
  norm: layerNormOf,
};

/**
 * Run OPT on ids [batch, pos] int32 (no padding; positions are 0..pos-1). Returns n_layers + 1
 * hidden states [batch, pos, d_model], the residual before the final norm, logits
 * [batch, pos, d_vocab] unless opts.logits is false, and the named points.
 */
export function optForward(cfg: DecoderConfig, p: ModelWeights, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardOutput {
  return runDecoder(OPT_BLOCK, cfg, p, ids, opts);
}
