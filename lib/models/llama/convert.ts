/**
 * Llama checkpoints <-> LlamaParams. Qwen2 and Mistral checkpoints use the same names (Qwen2
 * adds q/k/v biases without an o_proj bias: cfg.attn_bias / cfg.attn_out_bias).
 *
 * Quirks handled here:
 * - nn.Linear stores weights [out, in]; the project multiplies x @ W with W [in, out], so every
 *   projection is transposed on the way in and back on the way out.
 * - q_proj/k_proj rows are already in the rotate_half order HF's rotary code expects (HF's
 *   conversion script permuted Meta's interleaved layout once), so no permutation is applied.
 * - Tied embeddings: with tie_word_embeddings the checkpoint usually has no lm_head.weight
 *   (if present it is ignored) and logits use the embedding.
 * - Older checkpoints carry rotary `inv_freq` buffers: ignored, they are recomputed.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import type { StateDict } from "../types";
import { checkWeights, shapesOf, type WeightSpec } from "../weights";
import type { LlamaLayerParams, LlamaParams } from "./params";

/** HF name -> HF shape of every tensor a Llama checkpoint with this config holds. */
export function llamaWeightSpec(cfg: DecoderConfig): WeightSpec {
  const { d_model, d_vocab, d_mlp, n_layers } = cfg;
  const qWidth = cfg.n_heads * cfg.d_head;
  const kvWidth = cfg.n_kv_heads * cfg.d_head;
  const required = new Map<string, number[]>();
  const optional = new Map<string, number[]>();
  required.set("model.embed_tokens.weight", [d_vocab, d_model]);
  for (let l = 0; l < n_layers; l++) {
    const p = `model.layers.${l}`;
    required.set(`${p}.input_layernorm.weight`, [d_model]);
    required.set(`${p}.self_attn.q_proj.weight`, [qWidth, d_model]);
    required.set(`${p}.self_attn.k_proj.weight`, [kvWidth, d_model]);
    required.set(`${p}.self_attn.v_proj.weight`, [kvWidth, d_model]);
    required.set(`${p}.self_attn.o_proj.weight`, [d_model, qWidth]);
    if (cfg.attn_bias) {
      required.set(`${p}.self_attn.q_proj.bias`, [qWidth]);
      required.set(`${p}.self_attn.k_proj.bias`, [kvWidth]);
      required.set(`${p}.self_attn.v_proj.bias`, [kvWidth]);
    }
    if (cfg.attn_out_bias) required.set(`${p}.self_attn.o_proj.bias`, [d_model]);
    required.set(`${p}.post_attention_layernorm.weight`, [d_model]);
    required.set(`${p}.mlp.gate_proj.weight`, [d_mlp, d_model]);
    required.set(`${p}.mlp.up_proj.weight`, [d_mlp, d_model]);
    required.set(`${p}.mlp.down_proj.weight`, [d_model, d_mlp]);
    if (cfg.mlp_bias) {
      required.set(`${p}.mlp.gate_proj.bias`, [d_mlp]);
      required.set(`${p}.mlp.up_proj.bias`, [d_mlp]);
      required.set(`${p}.mlp.down_proj.bias`, [d_model]);
    }
  }
  required.set("model.norm.weight", [d_model]);
  (cfg.tie_word_embeddings ? optional : required).set("lm_head.weight", [d_vocab, d_model]);
  return { required, optional, ignored: [/\.rotary_emb\.inv_freq$/] };
}

/**
 * Convert a HF-named Llama state dict into LlamaParams (new tensors; the caller still owns
 * `sd`). Throws listing missing, misshaped and unexpected tensors.
 */
export function llamaFromHf(cfg: DecoderConfig, sd: StateDict): LlamaParams {
  checkWeights("llama checkpoint", llamaWeightSpec(cfg), shapesOf(sd));
  const get = (name: string) => sd[name] as tf.Tensor;
  // nn.Linear [out, in] -> [in, out].
  const w = (name: string) => tf.transpose(get(name)) as tf.Tensor2D;
  const vec = (name: string) => tf.clone(get(name)) as tf.Tensor1D;
  const bias = (name: string, on: boolean) => (on ? vec(name) : undefined);
  const layers: LlamaLayerParams[] = [];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      attnNorm: vec(`${p}.input_layernorm.weight`),
      wq: w(`${p}.self_attn.q_proj.weight`),
      wk: w(`${p}.self_attn.k_proj.weight`),
      wv: w(`${p}.self_attn.v_proj.weight`),
      wo: w(`${p}.self_attn.o_proj.weight`),
      bq: bias(`${p}.self_attn.q_proj.bias`, cfg.attn_bias),
      bk: bias(`${p}.self_attn.k_proj.bias`, cfg.attn_bias),
      bv: bias(`${p}.self_attn.v_proj.bias`, cfg.attn_bias),
      bo: bias(`${p}.self_attn.o_proj.bias`, cfg.attn_out_bias),
      mlpNorm: vec(`${p}.post_attention_layernorm.weight`),
      wGate: w(`${p}.mlp.gate_proj.weight`),
      wUp: w(`${p}.mlp.up_proj.weight`),
      wDown: w(`${p}.mlp.down_proj.weight`),
      bGate: bias(`${p}.mlp.gate_proj.bias`, cfg.mlp_bias),
      bUp: bias(`${p}.mlp.up_proj.bias`, cfg.mlp_bias),
      bDown: bias(`${p}.mlp.down_proj.bias`, cfg.mlp_bias),
    });
  }
  return {
    embed: tf.clone(get("model.embed_tokens.weight")) as tf.Tensor2D,
    layers,
    finalNorm: vec("model.norm.weight"),
    lmHead: cfg.tie_word_embeddings ? undefined : w("lm_head.weight"),
  };
}

/**
 * Inverse of llamaFromHf: HF-named tensors in HF layout (new tensors), ready for
 * saveCheckpoint. A tied model (no lmHead) gets no lm_head.weight, as HF saves it.
 */
export function llamaToHf(cfg: DecoderConfig, params: LlamaParams): StateDict {
  if (params.layers.length !== cfg.n_layers) {
    throw new Error(`llamaToHf: params have ${params.layers.length} layers, config has n_layers=${cfg.n_layers}`);
  }
  const sd: StateDict = {};
  const lin = (t: tf.Tensor2D) => tf.transpose(t); // [in, out] -> nn.Linear [out, in]
  const put = (name: string, t: tf.Tensor | undefined, f: (t: tf.Tensor2D) => tf.Tensor = tf.clone) => {
    if (t !== undefined) sd[name] = f(t as tf.Tensor2D);
  };
  put("model.embed_tokens.weight", params.embed);
  params.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    put(`${p}.input_layernorm.weight`, l.attnNorm);
    put(`${p}.self_attn.q_proj.weight`, l.wq, lin);
    put(`${p}.self_attn.k_proj.weight`, l.wk, lin);
    put(`${p}.self_attn.v_proj.weight`, l.wv, lin);
    put(`${p}.self_attn.o_proj.weight`, l.wo, lin);
    put(`${p}.self_attn.q_proj.bias`, l.bq);
    put(`${p}.self_attn.k_proj.bias`, l.bk);
    put(`${p}.self_attn.v_proj.bias`, l.bv);
    put(`${p}.self_attn.o_proj.bias`, l.bo);
    put(`${p}.post_attention_layernorm.weight`, l.mlpNorm);
    put(`${p}.mlp.gate_proj.weight`, l.wGate, lin);
    put(`${p}.mlp.up_proj.weight`, l.wUp, lin);
    put(`${p}.mlp.down_proj.weight`, l.wDown, lin);
    put(`${p}.mlp.gate_proj.bias`, l.bGate);
    put(`${p}.mlp.up_proj.bias`, l.bUp);
    put(`${p}.mlp.down_proj.bias`, l.bDown);
  });
  put("model.norm.weight", params.finalNorm);
  // A tied model saves no lm_head.weight (HF re-ties it on load).
  if (!cfg.tie_word_embeddings) put("lm_head.weight", params.lmHead, lin);
  return sd;
}
