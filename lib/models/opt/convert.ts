/**
 * OPT checkpoints <-> weights by role (lib/models/roles.ts).
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
import type { BlockWeights, Dense, ModelWeights, Norm } from "../roles";
import { linearFromHf, linearToHf, normFromHf, normToHf } from "../common/hf-linear";
import { assembleWeights, type HeadWeights, type WeightParts } from "../family";
import type { StateDict } from "../types";
import type { WeightSpec } from "../weights";

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

const P = "model.decoder";

/** Block l of a checked, canonically named OPT state dict by role (new tensors). ln1 is self_attn_layer_norm, ln2 the block's final_layer_norm, mlp.in fc1, mlp.out fc2. */
export function optBlockFromHf(cfg: DecoderConfig, sd: StateDict, l: number): BlockWeights {
  // nn.Linear [out, in] -> [in, out], with its bias when the config has one.
  const dense = (name: string, withBias: boolean) => linearFromHf(sd, name, withBias);
  const norm = (name: string) => normFromHf(sd, name, true);
  const p = `${P}.layers.${l}`;
  const a = `${p}.self_attn`;
  return {
    ln1: norm(`${p}.self_attn_layer_norm`),
    attn: {
      q: dense(`${a}.q_proj`, cfg.attn_bias), k: dense(`${a}.k_proj`, cfg.attn_bias),
      v: dense(`${a}.v_proj`, cfg.attn_bias), o: dense(`${a}.out_proj`, cfg.attn_bias),
    },
    ln2: norm(`${p}.final_layer_norm`),
    mlp: { in: dense(`${p}.fc1`, cfg.mlp_bias), out: dense(`${p}.fc2`, cfg.mlp_bias) },
  };
}

/** The head of an OPT checkpoint: positions, project_in/out (embed_proj, unembed_proj) and the decoder's final norm. */
export function optHeadFromHf(cfg: DecoderConfig, sd: StateDict): HeadWeights {
  const projected = cfg.d_embed !== cfg.d_model;
  return {
    embed_proj: projected ? linearFromHf(sd, `${P}.project_in`, false) : undefined,
    // Drop the pos_offset (2) rows HF keeps in front, so row p is position p.
    pos_embed: tf.slice(sd[`${P}.embed_positions.weight`], [cfg.pos_offset, 0], [cfg.n_ctx, cfg.d_model]) as tf.Tensor2D,
    ln_final: cfg.final_norm ? normFromHf(sd, `${P}.final_layer_norm`, true) : undefined,
    unembed_proj: projected ? linearFromHf(sd, `${P}.project_out`, false) : undefined,
  };
}

/** Where an OPT checkpoint keeps its weights, for {@link assembleWeights}. */
export const OPT_WEIGHTS: WeightParts = {
  embedName: `${P}.embed_tokens.weight`, unembedName: "lm_head.weight",
  blockFromHf: optBlockFromHf, headFromHf: optHeadFromHf,
};

/** A checked, canonically named OPT state dict -> weights by role (new tensors; the caller still owns `sd`). */
export function optFromHf(cfg: DecoderConfig, sd: StateDict): ModelWeights {
  return assembleWeights(OPT_WEIGHTS, cfg, sd);
}

/**
 * Inverse of optFromHf: canonical OPT names, HF layout, new tensors. The pos_offset rows in front
 * of the position table (read only for padding tokens, which this project never feeds) are
 * written as zeros.
 */
export function optToHf(cfg: DecoderConfig, p: ModelWeights): StateDict {
  if (p.blocks.length !== cfg.n_layers || p.pos_embed === undefined) {
    throw new Error(`optToHf: weights need pos_embed and n_layers=${cfg.n_layers} blocks`);
  }
  const sd: StateDict = {};
  const dense = (name: string, d: Dense | undefined) => linearToHf(sd, name, d);
  const norm = (name: string, n: Norm | undefined) => normToHf(sd, name, n);
  sd[`${P}.embed_tokens.weight`] = tf.clone(p.embed);
  sd[`${P}.embed_positions.weight`] = tf.concat([tf.zeros([cfg.pos_offset, cfg.d_model]), p.pos_embed], 0);
  dense(`${P}.project_in`, p.embed_proj);
  p.blocks.forEach((b, l) => {
    const pre = `${P}.layers.${l}`;
    norm(`${pre}.self_attn_layer_norm`, b.ln1);
    dense(`${pre}.self_attn.q_proj`, b.attn.q);
    dense(`${pre}.self_attn.k_proj`, b.attn.k);
    dense(`${pre}.self_attn.v_proj`, b.attn.v);
    dense(`${pre}.self_attn.out_proj`, b.attn.o);
    norm(`${pre}.final_layer_norm`, b.ln2);
    dense(`${pre}.fc1`, b.mlp.in);
    dense(`${pre}.fc2`, b.mlp.out);
  });
  norm(`${P}.final_layer_norm`, p.ln_final);
  dense(`${P}.project_out`, p.unembed_proj);
  if (!cfg.tie_word_embeddings) dense("lm_head", p.unembed);
  return sd;
}
