/**
 * One canonical description of a decoder-only transformer, whatever family it comes from, and
 * the normalizer that reads a Hugging Face `config.json` into it.
 *
 * Defaults follow the Hugging Face config classes (GPT2Config, OPTConfig, LlamaConfig,
 * GPTNeoXConfig, Qwen2Config, MistralConfig) for keys that `config.json` may leave out; the sizes
 * themselves must be present. Qwen2 and Mistral run as the llama family: they are Llama with bias
 * on q/k/v only (Qwen2) and with a sliding attention window (Mistral, Qwen2 optionally). Each
 * family's normalizer lives in its own folder (lib/models/<family>/config.ts), named by its record.
 */
import { refuse } from "./config-fields";
import { FAMILIES } from "./registry";

/** The model families that have a forward pass here. */
export type Family = "gpt2" | "opt" | "llama" | "gpt_neox";

/** Activation functions the families use (HF `activation_function` / `hidden_act` names). */
export type Activation = "gelu_new" | "gelu" | "relu" | "silu";

/** `model_type` values accepted by {@link normalizeHfConfig}, and the family each runs as (from the family records). */
export const SUPPORTED_MODEL_TYPES: Readonly<Record<string, Family>> = Object.freeze(
  Object.fromEntries(Object.values(FAMILIES).flatMap((f) => f.modelTypes.map((t) => [t, f.name]))),
);

/** A decoder-only transformer, in the project's dimension vocabulary. */
export interface DecoderConfig {
  /** Which forward pass runs this model. */
  readonly family: Family;
  /** HF `model_type` as written in config.json (e.g. "gpt2", "opt", "llama"). */
  readonly model_type: string;
  /** Number of transformer blocks; a forward pass gives n_layers + 1 hidden states. */
  readonly n_layers: number;
  /** Width of the residual stream (HF hidden_size / n_embd). */
  readonly d_model: number;
  /** Number of query heads. */
  readonly n_heads: number;
  /** Number of key/value heads (< n_heads means grouped-query attention; = n_heads otherwise). */
  readonly n_kv_heads: number;
  /** Width of one attention head (Llama may set it explicitly; otherwise d_model / n_heads). */
  readonly d_head: number;
  /** Hidden width of the MLP (HF n_inner / ffn_dim / intermediate_size). */
  readonly d_mlp: number;
  /** Vocabulary size: rows of the token embedding, columns of the logits. */
  readonly d_vocab: number;
  /** Longest sequence the model was built for (learned positions or rotary training length). */
  readonly n_ctx: number;
  /** Epsilon inside LayerNorm / RMSNorm. */
  readonly norm_eps: number;
  /** Activation inside the MLP (SwiGLU gate for Llama). */
  readonly act: Activation;
  /** Rotary base (rotary families: Llama, Qwen2, Mistral, GPT-NeoX's rotary_emb_base). */
  readonly rope_theta?: number;
  /**
   * Rotated width of each head: d_head for Llama/Qwen2/Mistral, int(d_head * rotary_pct) for
   * GPT-NeoX (the first rotary_dim dimensions of a head rotate, the rest pass through). Absent
   * for families with learned positions.
   */
  readonly rotary_dim?: number;
  /** Token id a sequence starts with, if the model has one. */
  readonly bos_token_id?: number;
  /** End-of-sequence token id, if any. */
  readonly eos_token_id?: number;
  /** True when the output projection reuses the token embedding (no lm_head weight). */
  readonly tie_word_embeddings: boolean;
  /** Biases on the attention projections q, k, v (GPT-2, OPT, NeoX, Qwen2: true; Llama: attention_bias). */
  readonly attn_bias: boolean;
  /** Bias on the attention output projection (as attn_bias, except Qwen2: false). */
  readonly attn_out_bias: boolean;
  /** Biases on the MLP projections (GPT-2, OPT: true; Llama: mlp_bias). */
  readonly mlp_bias: boolean;
  /** True for pre-LN blocks (norm before attention/MLP); false for OPT-350m-style post-LN. */
  readonly pre_norm: boolean;
  /** True when a norm is applied after the last block (OPT post-LN models have none). */
  readonly final_norm: boolean;
  /**
   * GPT-NeoX use_parallel_residual: a block adds attn(ln1(x)) + mlp(ln2(x)) to x in one step
   * instead of feeding the MLP the attention's output. False for every other family.
   */
  readonly parallel_residual: boolean;
  /**
   * Per block: how many positions a query attends to, its own included (HF's sliding window:
   * query t sees keys t - window < s <= t); null for plain causal attention over all earlier
   * positions. Length n_layers. Mistral sets it on every block, Qwen2 on blocks >=
   * max_window_layers when use_sliding_window (or as layer_types says).
   */
  readonly attn_window: readonly (number | null)[];
  /** Width of the token embedding (OPT word_embed_proj_dim); != d_model means project_in/out. */
  readonly d_embed: number;
  /** Row offset into the learned position table (OPT: 2; GPT-2: 0; Llama: unused, 0). */
  readonly pos_offset: number;
  /** The config.json object as read, for anything not normalized here. */
  readonly hf: Readonly<Record<string, unknown>>;
}

/**
 * Values that parse but would make every output NaN or fail far from config.json: sizes of 0,
 * a head_dim of 0, a non-positive norm epsilon or rotary base, token ids that are not
 * non-negative integers or lie outside the vocabulary.
 */
function checkRanges(hf: Record<string, unknown>, type: string, base: Omit<DecoderConfig, "hf">): void {
  const positive: [string, number][] = [
    ["n_layers", base.n_layers], ["d_model", base.d_model], ["n_heads", base.n_heads], ["d_vocab (vocab_size)", base.d_vocab],
    ["n_ctx (max_position_embeddings)", base.n_ctx], ["d_mlp", base.d_mlp],
  ];
  for (const [name, v] of positive) if (!(v > 0)) refuse(type, `${name} must be at least 1, got ${v}`);
  if (hf.head_dim !== undefined && hf.head_dim !== null && !(base.d_head > 0)) refuse(type, `'head_dim' must be a positive integer, got ${JSON.stringify(hf.head_dim)}`);
  if (!(base.norm_eps > 0)) refuse(type, `the norm epsilon must be a positive number, got ${base.norm_eps} (it is added under a square root)`);
  if (base.rope_theta !== undefined && !(base.rope_theta > 0)) refuse(type, `the rotary base (rope_theta) must be a positive number, got ${base.rope_theta}`);
  for (const name of ["bos_token_id", "eos_token_id"]) {
    const raw = hf[name];
    if (raw === undefined || raw === null) continue;
    for (const id of Array.isArray(raw) ? raw : [raw]) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) refuse(type, `'${name}' must be a non-negative integer, got ${JSON.stringify(raw)}`);
      if (name === "bos_token_id" && id >= base.d_vocab) refuse(type, `'bos_token_id' ${id} is outside the vocabulary (vocab_size ${base.d_vocab})`);
    }
  }
}

/**
 * The block count a config.json declares, read without building anything of that size; undefined
 * when the model type is unsupported or the count is not a non-negative integer (then
 * {@link normalizeHfConfig} says why).
 */
export function declaredBlockCount(json: unknown): number | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const hf = json as Record<string, unknown>;
  if (typeof hf.model_type !== "string" || !Object.hasOwn(SUPPORTED_MODEL_TYPES, hf.model_type)) return undefined;
  const family = FAMILIES[SUPPORTED_MODEL_TYPES[hf.model_type]];
  const v = family.layerCountKeys.map((k) => hf[k]).find((x) => x !== undefined && x !== null);
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/**
 * Normalize a parsed Hugging Face config.json into a {@link DecoderConfig} with the family
 * record of its `model_type` (lib/models/<family>/family.ts).
 * Throws a one-line error for an unknown `model_type` (listing the supported ones), a missing
 * size, or a variant whose maths this project does not implement.
 */
export function normalizeHfConfig(json: unknown): DecoderConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`config.json: expected a JSON object, got ${Array.isArray(json) ? "an array" : typeof json}`);
  }
  const hf = json as Record<string, unknown>;
  const type = hf.model_type;
  const supported = Object.keys(SUPPORTED_MODEL_TYPES).join(", ");
  if (typeof type !== "string") {
    throw new Error(`config.json: missing 'model_type' (supported: ${supported})`);
  }
  if (!Object.hasOwn(SUPPORTED_MODEL_TYPES, type)) {
    throw new Error(`config.json: model_type '${type}' is not supported (supported: ${supported})`);
  }
  const base = FAMILIES[SUPPORTED_MODEL_TYPES[type]].normalize(hf, type);
  checkRanges(hf, type, base);
  if (!Number.isInteger(base.d_head) || base.d_head <= 0) {
    refuse(type, `d_model=${base.d_model} is not divisible by n_heads=${base.n_heads}`);
  }
  return Object.freeze({ ...base, hf: Object.freeze({ ...hf }) });
}
