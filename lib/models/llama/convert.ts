/**
 * Llama checkpoints (and Qwen2 / Mistral ones, which use the same names; Qwen2 has q/k/v biases
 * without an o_proj bias: cfg.attn_bias / cfg.attn_out_bias) <-> weights by role (lib/models/roles.ts).
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
import type { BlockWeights, Dense, ModelWeights, Norm } from "../roles";
import { linearFromHf, linearToHf, normFromHf, normToHf } from "../common/hf-linear";
import { assembleWeights, type HeadWeights, type WeightParts } from "../family";
import type { StateDict } from "../types";
import type { WeightSpec } from "../weights";

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

/** Block l of a checked, canonically named Llama state dict by role (new tensors). mlp.in is up_proj, mlp.gate gate_proj, mlp.out down_proj. */
export function llamaBlockFromHf(cfg: DecoderConfig, sd: StateDict, l: number): BlockWeights {
  // nn.Linear [out, in] -> [in, out], with its bias when the config has one.
  const dense = (name: string, withBias: boolean) => linearFromHf(sd, name, withBias);
  const norm = (name: string) => normFromHf(sd, name, false);
  const p = `model.layers.${l}`;
  return {
    ln1: norm(`${p}.input_layernorm`),
    attn: {
      q: dense(`${p}.self_attn.q_proj`, cfg.attn_bias),
      k: dense(`${p}.self_attn.k_proj`, cfg.attn_bias),
      v: dense(`${p}.self_attn.v_proj`, cfg.attn_bias),
      o: dense(`${p}.self_attn.o_proj`, cfg.attn_out_bias),
    },
    ln2: norm(`${p}.post_attention_layernorm`),
    mlp: {
      in: dense(`${p}.mlp.up_proj`, cfg.mlp_bias),
      gate: dense(`${p}.mlp.gate_proj`, cfg.mlp_bias),
      out: dense(`${p}.mlp.down_proj`, cfg.mlp_bias),
    },
  };
}

/** The head of a Llama checkpoint: the final RMSNorm (no positions, no projections). */
export function llamaHeadFromHf(_cfg: DecoderConfig, sd: StateDict): HeadWeights {
  return { ln_final: normFromHf(sd, "model.norm", false) };
}

/** Where a Llama checkpoint keeps its weights, for {@link assembleWeights}. */
export const LLAMA_WEIGHTS: WeightParts = {
  embedName: "model.embed_tokens.weight", unembedName: "lm_head.weight",
  blockFromHf: llamaBlockFromHf, headFromHf: llamaHeadFromHf,
};

/** A checked, canonically named Llama state dict -> weights by role (new tensors; the caller still owns `sd`). */
export function llamaFromHf(cfg: DecoderConfig, sd: StateDict): ModelWeights {
  return assembleWeights(LLAMA_WEIGHTS, cfg, sd);
}

/**
 * Inverse of llamaFromHf: HF-named tensors in HF layout (new tensors), ready for
 * saveCheckpoint. A tied model (no unembed) gets no lm_head.weight, as HF saves it.
 */
export function llamaToHf(cfg: DecoderConfig, p: ModelWeights): StateDict {
  if (p.blocks.length !== cfg.n_layers) {
    throw new Error(`llamaToHf: weights have ${p.blocks.length} blocks, config has n_layers=${cfg.n_layers}`);
  }
  const sd: StateDict = {};
  // [in, out] -> nn.Linear [out, in], bias as is.
  const dense = (name: string, d: Dense | undefined) => linearToHf(sd, name, d);
  const norm = (name: string, n: Norm) => normToHf(sd, name, n);
  sd["model.embed_tokens.weight"] = tf.clone(p.embed);
  p.blocks.forEach((b, l) => {
    const pre = `model.layers.${l}`;
    norm(`${pre}.input_layernorm`, b.ln1);
    dense(`${pre}.self_attn.q_proj`, b.attn.q);
    dense(`${pre}.self_attn.k_proj`, b.attn.k);
    dense(`${pre}.self_attn.v_proj`, b.attn.v);
    dense(`${pre}.self_attn.o_proj`, b.attn.o);
    norm(`${pre}.post_attention_layernorm`, b.ln2);
    dense(`${pre}.mlp.gate_proj`, b.mlp.gate);
    dense(`${pre}.mlp.up_proj`, b.mlp.in);
    dense(`${pre}.mlp.down_proj`, b.mlp.out);
  });
  if (p.ln_final !== undefined) norm("model.norm", p.ln_final);
  // A tied model saves no lm_head.weight (HF re-ties it on load).
  if (!cfg.tie_word_embeddings) dense("lm_head", p.unembed);
  return sd;
}
