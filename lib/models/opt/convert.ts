/**
 * OPT checkpoints -> OptParams.
 *
 * Quirks handled here:
 * - Learned positions: HF's table has n_ctx + 2 rows and position p reads row p + 2 (a fairseq
 *   padding convention). The first 2 rows are dropped here, so the forward reads row p.
 * - nn.Linear weights [out, in] are transposed to [in, out].
 * - Names may start with `model.decoder.` (OPTForCausalLM) or `decoder.` (OPTModel); both map
 *   to `model.decoder.`.
 * - OPT-350m style: post-LN blocks (do_layer_norm_before=false, no decoder final_layer_norm) and
 *   project_in / project_out when word_embed_proj_dim != hidden_size: both supported.
 * - lm_head is tied to embed_tokens (lm_head.weight, if saved, is ignored when tied).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import type { StateDict } from "../types";
import { checkWeights, shapesOf, type WeightSpec } from "../weights";
import type { OptLayerParams, OptParams } from "./params";

/** Checkpoint name -> spec name (`decoder.x` -> `model.decoder.x`). */
export function optCanonicalName(name: string): string {
  return name.startsWith("decoder.") ? `model.${name}` : name;
}

/** HF name -> HF shape of every tensor an OPT checkpoint with this config holds. */
export function optWeightSpec(cfg: DecoderConfig): WeightSpec {
  const { d_model: d, d_mlp, d_vocab, d_embed } = cfg;
  const required = new Map<string, number[]>();
  const optional = new Map<string, number[]>();
  const P = "model.decoder";
  required.set(`${P}.embed_tokens.weight`, [d_vocab, d_embed]);
  required.set(`${P}.embed_positions.weight`, [cfg.n_ctx + cfg.pos_offset, d]);
  if (d_embed !== d) {
    required.set(`${P}.project_in.weight`, [d, d_embed]);
    required.set(`${P}.project_out.weight`, [d_embed, d]);
  }
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `${P}.layers.${l}`;
    for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      required.set(`${p}.self_attn.${proj}.weight`, [d, d]);
      if (cfg.attn_bias) required.set(`${p}.self_attn.${proj}.bias`, [d]);
    }
    required.set(`${p}.self_attn_layer_norm.weight`, [d]);
    required.set(`${p}.self_attn_layer_norm.bias`, [d]);
    required.set(`${p}.fc1.weight`, [d_mlp, d]);
    required.set(`${p}.fc2.weight`, [d, d_mlp]);
    if (cfg.mlp_bias) {
      required.set(`${p}.fc1.bias`, [d_mlp]);
      required.set(`${p}.fc2.bias`, [d]);
    }
    required.set(`${p}.final_layer_norm.weight`, [d]);
    required.set(`${p}.final_layer_norm.bias`, [d]);
  }
  if (cfg.final_norm) {
    required.set(`${P}.final_layer_norm.weight`, [d]);
    required.set(`${P}.final_layer_norm.bias`, [d]);
  }
  (cfg.tie_word_embeddings ? optional : required).set("lm_head.weight", [d_vocab, d_embed]);
  return { required, optional, ignored: [] };
}

/** Convert an OPT state dict into OptParams (new tensors; the caller still owns `sdIn`). */
export function optFromHf(cfg: DecoderConfig, sdIn: StateDict): OptParams {
  const sd: StateDict = {};
  for (const [name, t] of Object.entries(sdIn)) sd[optCanonicalName(name)] = t;
  checkWeights("opt checkpoint", optWeightSpec(cfg), shapesOf(sd));
  const P = "model.decoder";
  const w = (name: string) => tf.transpose(sd[name]) as tf.Tensor2D; // [out, in] -> [in, out]
  const vec = (name: string) => tf.clone(sd[name]) as tf.Tensor1D;
  const maybe = <T>(on: boolean, make: () => T) => (on ? make() : undefined);
  const layers: OptLayerParams[] = [];
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `${P}.layers.${l}`;
    const a = `${p}.self_attn`;
    layers.push({
      attnNormGain: vec(`${p}.self_attn_layer_norm.weight`), attnNormBias: vec(`${p}.self_attn_layer_norm.bias`),
      wq: w(`${a}.q_proj.weight`), wk: w(`${a}.k_proj.weight`), wv: w(`${a}.v_proj.weight`), wo: w(`${a}.out_proj.weight`),
      bq: maybe(cfg.attn_bias, () => vec(`${a}.q_proj.bias`)),
      bk: maybe(cfg.attn_bias, () => vec(`${a}.k_proj.bias`)),
      bv: maybe(cfg.attn_bias, () => vec(`${a}.v_proj.bias`)),
      bo: maybe(cfg.attn_bias, () => vec(`${a}.out_proj.bias`)),
      mlpNormGain: vec(`${p}.final_layer_norm.weight`), mlpNormBias: vec(`${p}.final_layer_norm.bias`),
      wFc1: w(`${p}.fc1.weight`), bFc1: maybe(cfg.mlp_bias, () => vec(`${p}.fc1.bias`)),
      wFc2: w(`${p}.fc2.weight`), bFc2: maybe(cfg.mlp_bias, () => vec(`${p}.fc2.bias`)),
    });
  }
  const projected = cfg.d_embed !== cfg.d_model;
  return {
    tokenEmbed: tf.clone(sd[`${P}.embed_tokens.weight`]) as tf.Tensor2D,
    // Drop the pos_offset (2) rows HF keeps in front, so row p is position p.
    posEmbed: tf.slice(sd[`${P}.embed_positions.weight`], [cfg.pos_offset, 0], [cfg.n_ctx, cfg.d_model]) as tf.Tensor2D,
    projectIn: maybe(projected, () => w(`${P}.project_in.weight`)),
    layers,
    finalGain: maybe(cfg.final_norm, () => vec(`${P}.final_layer_norm.weight`)),
    finalBias: maybe(cfg.final_norm, () => vec(`${P}.final_layer_norm.bias`)),
    projectOut: maybe(projected, () => w(`${P}.project_out.weight`)),
    lmHead: maybe(!cfg.tie_word_embeddings, () => w("lm_head.weight")),
  };
}
