/**
 * GPT-2 checkpoints -> Gpt2Params.
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
import type { StateDict } from "../types";
import { checkWeights, shapesOf, type WeightSpec } from "../weights";
import type { Gpt2Params } from "./params";

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

/** Convert a GPT-2 state dict (with or without `transformer.`) into Gpt2Params (new tensors). */
export function gpt2FromHf(cfg: DecoderConfig, sdIn: StateDict): Gpt2Params {
  const sd: StateDict = {};
  for (const [name, t] of Object.entries(sdIn)) sd[gpt2CanonicalName(name)] = t;
  checkWeights("gpt2 checkpoint", gpt2WeightSpec(cfg), shapesOf(sd));
  const keep = <T extends tf.Tensor>(name: string) => tf.clone(sd[name]) as T;
  const d = cfg.d_model;
  return {
    tokenEmbed: keep("wte.weight"),
    posEmbed: keep("wpe.weight"),
    layers: Array.from({ length: cfg.n_layers }, (_, l) => {
      const p = `h.${l}`;
      // Fused c_attn, [d_model, 3 d_model] -> q, k, v [d_model, d_model] (Conv1D: no transpose).
      const [wq, wk, wv] = tf.split(sd[`${p}.attn.c_attn.weight`], [d, d, d], 1) as tf.Tensor2D[];
      const [bq, bk, bv] = tf.split(sd[`${p}.attn.c_attn.bias`], [d, d, d], 0) as tf.Tensor1D[];
      return {
        ln1Gain: keep(`${p}.ln_1.weight`), ln1Bias: keep(`${p}.ln_1.bias`),
        wq, wk, wv, bq, bk, bv,
        wo: keep(`${p}.attn.c_proj.weight`), bo: keep(`${p}.attn.c_proj.bias`),
        ln2Gain: keep(`${p}.ln_2.weight`), ln2Bias: keep(`${p}.ln_2.bias`),
        wIn: keep(`${p}.mlp.c_fc.weight`), bIn: keep(`${p}.mlp.c_fc.bias`),
        wOut: keep(`${p}.mlp.c_proj.weight`), bOut: keep(`${p}.mlp.c_proj.bias`),
      };
    }),
    finalGain: keep("ln_f.weight"),
    finalBias: keep("ln_f.bias"),
    // lm_head is an nn.Linear [d_vocab, d_model]: transpose to [d_model, d_vocab].
    lmHead: cfg.tie_word_embeddings ? undefined : (tf.transpose(sd["lm_head.weight"]) as tf.Tensor2D),
  };
}
