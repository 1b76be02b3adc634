/**
 * The model that `linearity train` trains: a Llama-style decoder (RMSNorm, rotary embeddings,
 * SwiGLU MLP) over bytes, run by the same forward pass as every other Llama model here
 * (lib/models/llama). This file builds its config.json, its initial weights, and the trainable
 * variables; nothing here computes the forward pass itself.
 */
import * as tf from "@tensorflow/tfjs-core";
import { normalizeHfConfig, type DecoderConfig } from "../models/config";
import type { StateDict } from "../models/types";
import { weightsFromHf } from "../models/family";
import { llamaToHf } from "../models/llama/convert";
import { LLAMA } from "../models/llama/family";
import { disposeWeights, mapWeights, type ModelWeights } from "../models/roles";
import type { NamedVariable } from "../optim/adamw";
import { Rng } from "./random";

/** Byte-level vocabulary: ids 0..255 are bytes, 256 is BOS (also used as EOS). */
export const BYTE_VOCAB = 257;
export const BYTE_BOS = 256;

/** Sizes of the trained model, in the project's dimension vocabulary. */
export interface ModelSizes {
  n_layers: number;
  d_model: number;
  n_heads: number;
  n_kv_heads: number;
  d_mlp: number;
  /** Longest sequence trained on (config max_position_embeddings). */
  n_ctx: number;
  rope_theta: number;
  norm_eps: number;
  tie_word_embeddings: boolean;
}

/** Check sizes before building anything, with one-line errors naming the option. */
export function checkSizes(s: ModelSizes): void {
  const positive: (keyof ModelSizes)[] = ["n_layers", "d_model", "n_heads", "n_kv_heads", "d_mlp", "n_ctx"];
  for (const k of positive) {
    const v = s[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new Error(`model: '${k}' expected an integer >= 1, got ${v}`);
  }
  if (s.d_model % s.n_heads !== 0) {
    throw new Error(`model: d_model=${s.d_model} is not divisible by n_heads=${s.n_heads}`);
  }
  if ((s.d_model / s.n_heads) % 2 !== 0) {
    throw new Error(`model: d_head=${s.d_model / s.n_heads} must be even for rotary embeddings`);
  }
  if (s.n_heads % s.n_kv_heads !== 0) {
    throw new Error(`model: n_heads=${s.n_heads} is not a multiple of n_kv_heads=${s.n_kv_heads}`);
  }
  if (!(s.rope_theta > 0)) throw new Error(`model: 'rope_theta' expected > 0, got ${s.rope_theta}`);
  if (!(s.norm_eps > 0)) throw new Error(`model: 'norm_eps' expected > 0, got ${s.norm_eps}`);
}

/** The Hugging Face config.json of the trained model (LlamaForCausalLM, byte-level). */
export function llamaHfConfig(s: ModelSizes, dtype: "float32" | "float16" = "float32"): Record<string, unknown> {
  checkSizes(s);
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: s.d_model,
    intermediate_size: s.d_mlp,
    num_attention_heads: s.n_heads,
    num_key_value_heads: s.n_kv_heads,
    head_dim: s.d_model / s.n_heads,
    num_hidden_layers: s.n_layers,
    hidden_act: "silu",
    rms_norm_eps: s.norm_eps,
    rope_theta: s.rope_theta,
    max_position_embeddings: s.n_ctx,
    vocab_size: BYTE_VOCAB,
    bos_token_id: BYTE_BOS,
    eos_token_id: BYTE_BOS,
    tie_word_embeddings: s.tie_word_embeddings,
    attention_bias: false,
    mlp_bias: false,
    initializer_range: 0.02,
    torch_dtype: dtype,
  };
}

/**
 * Initial weights in Hugging Face layout ([out, in] for linear layers), drawn from `rng` in a
 * fixed order: N(0, 0.02^2) for embeddings and projections, N(0, (0.02 / sqrt(2 n_layers))^2)
 * for the two projections that write into the residual stream (o_proj, down_proj, as GPT-2 does
 * so the residual's variance does not grow with depth), ones for the RMSNorm gains.
 */
export function initialStateDict(s: ModelSizes, rng: Rng): StateDict {
  checkSizes(s);
  const std = 0.02;
  const residualStd = std / Math.sqrt(2 * s.n_layers);
  const dHead = s.d_model / s.n_heads;
  const sd: StateDict = {};
  const normal = (name: string, shape: [number, number], sigma: number) => {
    sd[name] = tf.tensor2d(rng.normalArray(shape[0] * shape[1], sigma), shape);
  };
  const ones = (name: string) => {
    sd[name] = tf.ones([s.d_model]);
  };
  normal("model.embed_tokens.weight", [BYTE_VOCAB, s.d_model], std);
  for (let l = 0; l < s.n_layers; l++) {
    const p = `model.layers.${l}`;
    normal(`${p}.self_attn.q_proj.weight`, [s.n_heads * dHead, s.d_model], std);
    normal(`${p}.self_attn.k_proj.weight`, [s.n_kv_heads * dHead, s.d_model], std);
    normal(`${p}.self_attn.v_proj.weight`, [s.n_kv_heads * dHead, s.d_model], std);
    normal(`${p}.self_attn.o_proj.weight`, [s.d_model, s.n_heads * dHead], residualStd);
    normal(`${p}.mlp.gate_proj.weight`, [s.d_mlp, s.d_model], std);
    normal(`${p}.mlp.up_proj.weight`, [s.d_mlp, s.d_model], std);
    normal(`${p}.mlp.down_proj.weight`, [s.d_model, s.d_mlp], residualStd);
    ones(`${p}.input_layernorm.weight`);
    ones(`${p}.post_attention_layernorm.weight`);
  }
  ones("model.norm.weight");
  if (!s.tie_word_embeddings) normal("lm_head.weight", [BYTE_VOCAB, s.d_model], std);
  return sd;
}

/** A parameter tree whose leaves are trainable variables, with the flat list the optimizer uses. */
export interface TrainableParams {
  params: ModelWeights;
  variables: NamedVariable[];
}

let nextVariableId = 0; // tfjs variable names must be unique per process

/**
 * Turn a Hugging Face state dict into trainable variables in the forward pass's own layout
 * (through the Llama converter, so weights are laid out exactly as for a loaded checkpoint). Tensors of
 * `sd` are not disposed. Weight decay applies to matrices (embeddings and projections), not to
 * the RMSNorm gains.
 */
export function trainableFromStateDict(cfg: DecoderConfig, sd: StateDict): TrainableParams {
  const converted = weightsFromHf(LLAMA, cfg, sd);
  const variables: NamedVariable[] = [];
  const params = mapWeights(converted, (t, name) => {
    const v = tf.variable(t, true, `train/${nextVariableId++}/${name}`);
    variables.push({ name, variable: v, decay: t.rank >= 2 });
    return v;
  });
  disposeWeights(converted); // the variables hold copies
  return { params, variables };
}

/** The variables' current values as a Hugging Face state dict (new tensors; caller disposes). */
export function stateDictOf(cfg: DecoderConfig, params: ModelWeights): StateDict {
  return llamaToHf(cfg, params);
}

/** Normalized config of the trained model. */
export function trainedModelConfig(s: ModelSizes): DecoderConfig {
  return normalizeHfConfig(llamaHfConfig(s));
}
