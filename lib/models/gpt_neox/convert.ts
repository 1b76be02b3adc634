/**
 * GPT-NeoX checkpoints (GPTNeoXForCausalLM, e.g. Pythia) -> NeoxParams.
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
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import type { StateDict } from "../types";
import { checkWeights, shapesOf, type WeightSpec } from "../weights";
import type { NeoxLayerParams, NeoxParams } from "./params";

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

/** Convert a GPT-NeoX state dict into NeoxParams (new tensors; the caller still owns `sd`). */
export function neoxFromHf(cfg: DecoderConfig, sd: StateDict): NeoxParams {
  checkWeights("gpt_neox checkpoint", neoxWeightSpec(cfg), shapesOf(sd));
  const keep = <T extends tf.Tensor>(name: string) => tf.clone(sd[name]) as T;
  const lin = (name: string) => tf.transpose(sd[name]) as tf.Tensor2D; // nn.Linear [out, in] -> [in, out]
  const layers: NeoxLayerParams[] = [];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `gpt_neox.layers.${l}`;
    const [wq, wk, wv] = splitFused(sd[`${p}.attention.query_key_value.weight`], cfg.n_heads, cfg.d_head) as tf.Tensor2D[];
    const [bq, bk, bv] = cfg.attn_bias
      ? (splitFused(sd[`${p}.attention.query_key_value.bias`], cfg.n_heads, cfg.d_head) as tf.Tensor1D[])
      : [undefined, undefined, undefined];
    layers.push({
      ln1Gain: keep(`${p}.input_layernorm.weight`), ln1Bias: keep(`${p}.input_layernorm.bias`),
      wq, wk, wv, bq, bk, bv,
      wo: lin(`${p}.attention.dense.weight`),
      bo: cfg.attn_out_bias ? keep<tf.Tensor1D>(`${p}.attention.dense.bias`) : undefined,
      ln2Gain: keep(`${p}.post_attention_layernorm.weight`), ln2Bias: keep(`${p}.post_attention_layernorm.bias`),
      wIn: lin(`${p}.mlp.dense_h_to_4h.weight`), bIn: keep(`${p}.mlp.dense_h_to_4h.bias`),
      wOut: lin(`${p}.mlp.dense_4h_to_h.weight`), bOut: keep(`${p}.mlp.dense_4h_to_h.bias`),
    });
  }
  return {
    tokenEmbed: keep("gpt_neox.embed_in.weight"),
    layers,
    finalGain: keep("gpt_neox.final_layer_norm.weight"),
    finalBias: keep("gpt_neox.final_layer_norm.bias"),
    lmHead: cfg.tie_word_embeddings ? undefined : lin("embed_out.weight"),
  };
}
