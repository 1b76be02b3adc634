/**
 * GPT-2 checkpoints <-> weights by role (lib/models/roles.ts).
 *
 * Quirks handled here:
 * - GPT-2 uses Conv1D layers whose weights are stored [in, out], already the project's layout
 *   (nn.Linear checkpoints of the other families need a transpose; these must not get one).
 * - attn.c_attn fuses q, k and v: weight [d_model, 3 d_model] and bias [3 d_model] are split
 *   along the output axis in the order q, k, v.
 * - Names may carry the GPT2LMHeadModel prefix `transformer.`; it is removed.
 * - `h.{l}.attn.bias` / `attn.masked_bias` are causal-mask buffers of old checkpoints: ignored.
 * - The output projection is tied to wte (lm_head.weight, if saved, is ignored when tied).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import type { BlockWeights, Dense, ModelWeights, Norm } from "../roles";
import { assembleWeights, type HeadWeights, type WeightParts } from "../family";
import type { StateDict } from "../types";
import type { WeightSpec } from "../weights";

/** Checkpoint name -> the name used in the spec (without the `transformer.` prefix). */
export function gpt2CanonicalName(name: string): string {
  return name.startsWith("transformer.") ? name.slice("transformer.".length) : name;
}

/** HF name -> HF shape of every tensor a GPT-2 checkpoint with this config holds. */
export function gpt2WeightSpec(cfg: DecoderConfig): WeightSpec {
  const { d_model: d, d_mlp, d_vocab, n_ctx } = cfg;
  const required = new Map<string, number[]>();
  const optional = new Map<string, number[]>();
  required.set("wte.weight", [d_vocab, d]);
  required.set("wpe.weight", [n_ctx, d]);
  for (let l = 0; l < cfg.n_layers; l++) {
    const p = `h.${l}`;
    required.set(`${p}.ln_1.weight`, [d]);
    required.set(`${p}.ln_1.bias`, [d]);
    required.set(`${p}.attn.c_attn.weight`, [d, 3 * d]);
    required.set(`${p}.attn.c_attn.bias`, [3 * d]);
    required.set(`${p}.attn.c_proj.weight`, [d, d]);
    required.set(`${p}.attn.c_proj.bias`, [d]);
    required.set(`${p}.ln_2.weight`, [d]);
    required.set(`${p}.ln_2.bias`, [d]);
    required.set(`${p}.mlp.c_fc.weight`, [d, d_mlp]);
    required.set(`${p}.mlp.c_fc.bias`, [d_mlp]);
    required.set(`${p}.mlp.c_proj.weight`, [d_mlp, d]);
    required.set(`${p}.mlp.c_proj.bias`, [d]);
  }
  required.set("ln_f.weight", [d]);
  required.set("ln_f.bias", [d]);
  (cfg.tie_word_embeddings ? optional : required).set("lm_head.weight", [d_vocab, d]);
  return { required, optional, ignored: [/^h\.\d+\.attn\.(bias|masked_bias)$/] };
}

/** Conv1D weights are already [in, out]: copied as they are, with their biases. */
function conv1d(sd: StateDict, name: string): Dense {
  return { w: tf.clone(sd[`${name}.weight`]) as tf.Tensor2D, b: tf.clone(sd[`${name}.bias`]) as tf.Tensor1D };
}

function layerNorm(sd: StateDict, name: string): Norm {
  return { w: tf.clone(sd[`${name}.weight`]) as tf.Tensor1D, b: tf.clone(sd[`${name}.bias`]) as tf.Tensor1D };
}

/** Block l of a checked, canonically named GPT-2 state dict by role (new tensors). mlp.in is c_fc, mlp.out mlp.c_proj, attn.o attn.c_proj. */
export function gpt2BlockFromHf(cfg: DecoderConfig, sd: StateDict, l: number): BlockWeights {
  const d = cfg.d_model;
  const p = `h.${l}`;
  // Fused c_attn, [d_model, 3 d_model] -> q, k, v [d_model, d_model], split along outputs.
  const [wq, wk, wv] = tf.split(sd[`${p}.attn.c_attn.weight`], [d, d, d], 1) as tf.Tensor2D[];
  const [bq, bk, bv] = tf.split(sd[`${p}.attn.c_attn.bias`], [d, d, d], 0) as tf.Tensor1D[];
  return {
    ln1: layerNorm(sd, `${p}.ln_1`),
    attn: { q: { w: wq, b: bq }, k: { w: wk, b: bk }, v: { w: wv, b: bv }, o: conv1d(sd, `${p}.attn.c_proj`) },
    ln2: layerNorm(sd, `${p}.ln_2`),
    mlp: { in: conv1d(sd, `${p}.mlp.c_fc`), out: conv1d(sd, `${p}.mlp.c_proj`) },
  };
}

/** The head of a GPT-2 checkpoint: learned positions and ln_f. */
export function gpt2HeadFromHf(_cfg: DecoderConfig, sd: StateDict): HeadWeights {
  return { pos_embed: tf.clone(sd["wpe.weight"]) as tf.Tensor2D, ln_final: layerNorm(sd, "ln_f") };
}

/** Where a GPT-2 checkpoint keeps its weights, for {@link assembleWeights} (lm_head is an nn.Linear). */
export const GPT2_WEIGHTS: WeightParts = {
  embedName: "wte.weight", unembedName: "lm_head.weight",
  blockFromHf: gpt2BlockFromHf, headFromHf: gpt2HeadFromHf,
};

/** A checked, canonically named GPT-2 state dict -> weights by role (new tensors; the caller still owns `sd`). */
export function gpt2FromHf(cfg: DecoderConfig, sd: StateDict): ModelWeights {
  return assembleWeights(GPT2_WEIGHTS, cfg, sd);
}

/** Inverse of gpt2FromHf: canonical GPT-2 names (no `transformer.` prefix), HF layout, new tensors. */
export function gpt2ToHf(cfg: DecoderConfig, p: ModelWeights): StateDict {
  if (p.blocks.length !== cfg.n_layers || p.pos_embed === undefined || p.ln_final === undefined) {
    throw new Error(`gpt2ToHf: weights need pos_embed, ln_final and n_layers=${cfg.n_layers} blocks`);
  }
  const sd: StateDict = {};
  const pair = (name: string, x: Dense | Norm) => {
    sd[`${name}.weight`] = tf.clone(x.w);
    if (x.b !== undefined) sd[`${name}.bias`] = tf.clone(x.b);
  };
  // GPT-2 has biases everywhere: a missing one is saved as zeros.
  const bias = (b: tf.Tensor1D | undefined, width: number) => b ?? tf.zeros([width]);
  sd["wte.weight"] = tf.clone(p.embed);
  sd["wpe.weight"] = tf.clone(p.pos_embed);
  p.blocks.forEach((b, l) => {
    const pre = `h.${l}`;
    pair(`${pre}.ln_1`, b.ln1);
    const { q, k, v } = b.attn;
    sd[`${pre}.attn.c_attn.weight`] = tf.concat([q.w, k.w, v.w], 1);
    sd[`${pre}.attn.c_attn.bias`] = tf.concat([q.b, k.b, v.b].map((x) => bias(x, cfg.d_model)), 0);
    pair(`${pre}.attn.c_proj`, b.attn.o);
    pair(`${pre}.ln_2`, b.ln2);
    pair(`${pre}.mlp.c_fc`, b.mlp.in);
    pair(`${pre}.mlp.c_proj`, b.mlp.out);
  });
  pair("ln_f", p.ln_final);
  if (!cfg.tie_word_embeddings && p.unembed !== undefined) sd["lm_head.weight"] = tf.transpose(p.unembed.w);
  return sd;
}
