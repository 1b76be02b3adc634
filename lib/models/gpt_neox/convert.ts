/**
 * GPT-NeoX checkpoints (GPTNeoXForCausalLM, e.g. Pythia) <-> weights by role (lib/models/roles.ts).
 *
 * Quirks handled here:
 * - attention.query_key_value fuses q, k and v per head, not per projection: nn.Linear rows
 *   [3 d_model, d_model] read as [n_heads, 3, d_head] (head h's q rows, then its k rows, then its
 *   v rows), which is how HF views the output ([..., n_heads, 3 d_head], then q = [:d_head],
 *   k = [d_head:2 d_head], v = [2 d_head:]). Splitting at d_model and 2 d_model, as GPT-2's
 *   c_attn is split, would mix heads.
 * - nn.Linear stores [out, in]: every projection is transposed to [in, out].
 * - Names carry the `gpt_neox.` prefix except the output projection `embed_out.weight`.
 * - Old checkpoints carry buffers: `attention.bias` (a BOOL causal mask), `attention.masked_bias`,
 *   `attention.rotary_emb.inv_freq`: ignored (the mask and rotary tables are recomputed).
 * - tie_word_embeddings (false for Pythia) makes the logits use embed_in; embed_out.weight, if
 *   saved, is then ignored.
 *
 * Roles: embed = embed_in, ln1 = input_layernorm, attn.q/k/v = split query_key_value,
 * attn.o = attention.dense, ln2 = post_attention_layernorm, mlp.in = dense_h_to_4h,
 * mlp.out = dense_4h_to_h, ln_final = final_layer_norm, unembed = embed_out.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import type { BlockWeights, Dense, ModelWeights, Norm } from "../roles";
import { linearFromHf, linearToHf, normFromHf, normToHf } from "../common/hf-linear";
import { assembleWeights, type HeadWeights, type WeightParts } from "../family";
import type { StateDict } from "../types";
import type { WeightSpec } from "../weights";

/** HF name -> HF shape of every tensor a GPT-NeoX checkpoint with this config holds. */
export function neoxWeightSpec(cfg: DecoderConfig): WeightSpec {
  const { d_model: d, d_mlp, d_vocab } = cfg;
  const required = new Map<string, number[]>();
  const optional = new Map<string, number[]>();
  required.set("gpt_neox.embed_in.weight", [d_vocab, d]);
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `gpt_neox.layers.${l}`;
    required.set(`${p}.input_layernorm.weight`, [d]);
    required.set(`${p}.input_layernorm.bias`, [d]);
    required.set(`${p}.attention.query_key_value.weight`, [3 * d, d]);
    required.set(`${p}.attention.dense.weight`, [d, d]);
    if (cfg.attn_bias) required.set(`${p}.attention.query_key_value.bias`, [3 * d]);
    if (cfg.attn_out_bias) required.set(`${p}.attention.dense.bias`, [d]);
    required.set(`${p}.post_attention_layernorm.weight`, [d]);
    required.set(`${p}.post_attention_layernorm.bias`, [d]);
    required.set(`${p}.mlp.dense_h_to_4h.weight`, [d_mlp, d]);
    required.set(`${p}.mlp.dense_h_to_4h.bias`, [d_mlp]);
    required.set(`${p}.mlp.dense_4h_to_h.weight`, [d, d_mlp]);
    required.set(`${p}.mlp.dense_4h_to_h.bias`, [d]);
  }
  required.set("gpt_neox.final_layer_norm.weight", [d]);
  required.set("gpt_neox.final_layer_norm.bias", [d]);
  (cfg.tie_word_embeddings ? optional : required).set("embed_out.weight", [d_vocab, d]);
  return {
    required,
    optional,
    ignored: [/^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/],
  };
}

/**
 * Split a fused query_key_value weight [3 d_model, d_model] (or bias [3 d_model]) into q, k, v in
 * the project's layout: weights [d_model, d_model] ([in, out]), biases [d_model].
 */
function splitFused(t: tf.Tensor, nHeads: number, dHead: number): tf.Tensor[] {
  return tf.tidy(() => {
    const isWeight = t.rank === 2;
    const dIn = isWeight ? (t.shape[1] as number) : 1;
    // Rows as [n_heads, 3, d_head, in]: index 1 picks q (0), k (1) or v (2) within each head.
    const perHead = tf.reshape(t, [nHeads, 3, dHead, dIn]);
    return [0, 1, 2].map((which) => {
      const rows = tf.reshape(tf.slice(perHead, [0, which, 0, 0], [nHeads, 1, dHead, dIn]), [nHeads * dHead, dIn]);
      return isWeight ? tf.transpose(rows) : tf.reshape(rows, [nHeads * dHead]);
    });
  });
}

/** Inverse of splitFused: q, k, v ([in, out] weights or [d_model] biases) -> the fused HF tensor. */
function fuse(parts: tf.Tensor[], nHeads: number, dHead: number): tf.Tensor {
  return tf.tidy(() => {
    const isWeight = parts[0].rank === 2;
    const dIn = isWeight ? (parts[0].shape[0] as number) : 1;
    // Each part as rows [n_heads, 1, d_head, in], stacked on axis 1 in the order q, k, v.
    const rows = parts.map((t) => tf.reshape(isWeight ? tf.transpose(t) : t, [nHeads, 1, dHead, dIn]));
    const fused = tf.reshape(tf.concat(rows, 1), [3 * nHeads * dHead, dIn]);
    return isWeight ? fused : tf.reshape(fused, [3 * nHeads * dHead]);
  });
}

/** Block l of a checked, canonically named GPT-NeoX state dict by role (new tensors), query_key_value split per head. */
export function neoxBlockFromHf(cfg: DecoderConfig, sd: StateDict, l: number): BlockWeights {
  // nn.Linear [out, in] -> [in, out], with its bias when present.
  const dense = (name: string, withBias: boolean) => linearFromHf(sd, name, withBias);
  const norm = (name: string) => normFromHf(sd, name, true);
  const p = `gpt_neox.layers.${l}`;
  const [wq, wk, wv] = splitFused(sd[`${p}.attention.query_key_value.weight`], cfg.n_heads, cfg.d_head) as tf.Tensor2D[];
  const [bq, bk, bv] = cfg.attn_bias
    ? (splitFused(sd[`${p}.attention.query_key_value.bias`], cfg.n_heads, cfg.d_head) as tf.Tensor1D[])
    : [undefined, undefined, undefined];
  return {
    ln1: norm(`${p}.input_layernorm`),
    attn: { q: { w: wq, b: bq }, k: { w: wk, b: bk }, v: { w: wv, b: bv }, o: dense(`${p}.attention.dense`, cfg.attn_out_bias) },
    ln2: norm(`${p}.post_attention_layernorm`),
    mlp: { in: dense(`${p}.mlp.dense_h_to_4h`, true), out: dense(`${p}.mlp.dense_4h_to_h`, true) },
  };
}

/** The head of a GPT-NeoX checkpoint: the final LayerNorm. */
export function neoxHeadFromHf(_cfg: DecoderConfig, sd: StateDict): HeadWeights {
  return { ln_final: normFromHf(sd, "gpt_neox.final_layer_norm", true) };
}

/** Where a GPT-NeoX checkpoint keeps its weights, for {@link assembleWeights}. */
export const NEOX_WEIGHTS: WeightParts = {
  embedName: "gpt_neox.embed_in.weight", unembedName: "embed_out.weight",
  blockFromHf: neoxBlockFromHf, headFromHf: neoxHeadFromHf,
};

/** A checked, canonically named GPT-NeoX state dict -> weights by role (new tensors; `sd` stays the caller's). */
export function neoxFromHf(cfg: DecoderConfig, sd: StateDict): ModelWeights {
  return assembleWeights(NEOX_WEIGHTS, cfg, sd);
}

/** Inverse of neoxFromHf: HF names and layout (new tensors), ready for saveCheckpoint. */
export function neoxToHf(cfg: DecoderConfig, p: ModelWeights): StateDict {
  if (p.blocks.length !== cfg.n_layers || p.ln_final === undefined) {
    throw new Error(`neoxToHf: weights need ln_final and n_layers=${cfg.n_layers} blocks`);
  }
  const sd: StateDict = {};
  // [in, out] -> nn.Linear [out, in]; norms and biases as they are.
  const dense = (name: string, d: Dense) => linearToHf(sd, name, d);
  const norm = (name: string, n: Norm) => normToHf(sd, name, n);
  sd["gpt_neox.embed_in.weight"] = tf.clone(p.embed);
  p.blocks.forEach((b, l) => {
    const pre = `gpt_neox.layers.${l}`;
    norm(`${pre}.input_layernorm`, b.ln1);
    const { q, k, v } = b.attn;
    sd[`${pre}.attention.query_key_value.weight`] = fuse([q.w, k.w, v.w], cfg.n_heads, cfg.d_head);
    if (q.b !== undefined && k.b !== undefined && v.b !== undefined) {
      sd[`${pre}.attention.query_key_value.bias`] = fuse([q.b, k.b, v.b], cfg.n_heads, cfg.d_head);
    }
    dense(`${pre}.attention.dense`, b.attn.o);
    norm(`${pre}.post_attention_layernorm`, b.ln2);
    dense(`${pre}.mlp.dense_h_to_4h`, b.mlp.in);
    dense(`${pre}.mlp.dense_4h_to_h`, b.mlp.out);
  });
  norm("gpt_neox.final_layer_norm", p.ln_final);
  if (!cfg.tie_word_embeddings && p.unembed !== undefined) dense("embed_out", p.unembed);
  return sd;
}
