/**
 * One canonical description of a decoder-only transformer, whatever family it comes from, and
 * the normalizer that reads a Hugging Face `config.json` into it.
 *
 * Defaults follow the Hugging Face config classes (GPT2Config, OPTConfig, LlamaConfig,
 * GPTNeoXConfig, Qwen2Config, MistralConfig) for keys that `config.json` may leave out; the sizes
 * themselves must be present. Qwen2 and Mistral run as the llama family: they are Llama with bias
 * on q/k/v only (Qwen2) and with a sliding attention window (Mistral, Qwen2 optionally).
 */

/** The model families that have a forward pass here. */
export type Family = "gpt2" | "opt" | "llama" | "gpt_neox";

/** Activation functions the families use (HF `activation_function` / `hidden_act` names). */
export type Activation = "gelu_new" | "gelu" | "relu" | "silu";

/** `model_type` values accepted by {@link normalizeHfConfig}, and the family each runs as. */
export const SUPPORTED_MODEL_TYPES: Readonly<Record<string, Family>> = {
  gpt2: "gpt2",
  opt: "opt",
  llama: "llama",
  qwen2: "llama",
  mistral: "llama",
  gpt_neox: "gpt_neox",
};

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

/** Read one field, falling back to a default; throw when it is required and missing. */
function field(
  hf: Record<string, unknown>,
  type: string,
  names: readonly string[],
  fallback?: number | boolean | string | null,
): unknown {
  for (const n of names) if (hf[n] !== undefined && hf[n] !== null) return hf[n];
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json (model_type '${type}'): missing '${names.join("' or '")}'`);
}

function int(hf: Record<string, unknown>, type: string, names: readonly string[], fallback?: number): number {
  const v = field(hf, type, names, fallback);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new Error(`config.json (model_type '${type}'): '${names[0]}' must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function num(hf: Record<string, unknown>, type: string, names: readonly string[], fallback?: number): number {
  const v = field(hf, type, names, fallback);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`config.json (model_type '${type}'): '${names[0]}' must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(hf: Record<string, unknown>, type: string, name: string, fallback: boolean): boolean {
  const v = field(hf, type, [name], fallback);
  if (typeof v !== "boolean") {
    throw new Error(`config.json (model_type '${type}'): '${name}' must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalId(hf: Record<string, unknown>, name: string): number | undefined {
  const v = hf[name];
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (Array.isArray(v) && typeof v[0] === "number") return v[0]; // some configs list several eos ids
  return undefined;
}

function activation(type: string, v: unknown, allowed: readonly Activation[]): Activation {
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as Activation;
  throw new Error(`config.json (model_type '${type}'): activation ${JSON.stringify(v)} is not supported; expected one of ${allowed.join(", ")}`);
}

function refuse(type: string, why: string): never {
  throw new Error(`config.json (model_type '${type}'): ${why}`);
}

function gpt2(hf: Record<string, unknown>): Omit<DecoderConfig, "hf"> {
  const t = "gpt2";
  if (bool(hf, t, "scale_attn_by_inverse_layer_idx", false)) refuse(t, "scale_attn_by_inverse_layer_idx=true is not supported");
  if (!bool(hf, t, "scale_attn_weights", true)) refuse(t, "scale_attn_weights=false is not supported");
  const d_model = int(hf, t, ["n_embd", "hidden_size"]);
  const n_heads = int(hf, t, ["n_head", "num_attention_heads"]);
  return {
    family: "gpt2", model_type: t,
    n_layers: int(hf, t, ["n_layer", "num_hidden_layers"]),
    d_model, n_heads, n_kv_heads: n_heads, d_head: d_model / n_heads,
    d_mlp: int(hf, t, ["n_inner"], 4 * d_model),
    d_vocab: int(hf, t, ["vocab_size"]),
    n_ctx: int(hf, t, ["n_positions", "n_ctx"]),
    norm_eps: num(hf, t, ["layer_norm_epsilon"], 1e-5),
    act: activation(t, field(hf, t, ["activation_function"], "gelu_new"), ["gelu_new", "gelu", "relu"]),
    bos_token_id: optionalId(hf, "bos_token_id"), eos_token_id: optionalId(hf, "eos_token_id"),
    tie_word_embeddings: bool(hf, t, "tie_word_embeddings", true),
    attn_bias: true, attn_out_bias: true, mlp_bias: true, pre_norm: true, final_norm: true,
    parallel_residual: false, attn_window: fullAttention(hf, t, ["n_layer", "num_hidden_layers"]),
    d_embed: d_model, pos_offset: 0,
  };
}

function opt(hf: Record<string, unknown>): Omit<DecoderConfig, "hf"> {
  const t = "opt";
  if (!bool(hf, t, "layer_norm_elementwise_affine", true)) refuse(t, "layer_norm_elementwise_affine=false is not supported");
  const d_model = int(hf, t, ["hidden_size"]);
  const n_heads = int(hf, t, ["num_attention_heads"]);
  const pre_norm = bool(hf, t, "do_layer_norm_before", true);
  const enable_bias = bool(hf, t, "enable_bias", true);
  return {
    family: "opt", model_type: t,
    n_layers: int(hf, t, ["num_hidden_layers"]),
    d_model, n_heads, n_kv_heads: n_heads, d_head: d_model / n_heads,
    d_mlp: int(hf, t, ["ffn_dim"]),
    d_vocab: int(hf, t, ["vocab_size"]),
    n_ctx: int(hf, t, ["max_position_embeddings"]),
    norm_eps: 1e-5, // OPT uses torch.nn.LayerNorm's default epsilon
    act: activation(t, field(hf, t, ["activation_function"], "relu"), ["relu", "gelu", "gelu_new"]),
    bos_token_id: optionalId(hf, "bos_token_id"), eos_token_id: optionalId(hf, "eos_token_id"),
    tie_word_embeddings: bool(hf, t, "tie_word_embeddings", true),
    attn_bias: enable_bias, attn_out_bias: enable_bias, mlp_bias: enable_bias, pre_norm,
    parallel_residual: false, attn_window: fullAttention(hf, t, ["num_hidden_layers"]),
    // HF builds the decoder's final LayerNorm only for pre-LN models not marked to drop it.
    final_norm: pre_norm && !bool(hf, t, "_remove_final_layer_norm", false),
    d_embed: int(hf, t, ["word_embed_proj_dim"], d_model),
    pos_offset: 2, // OPTLearnedPositionalEmbedding: position p reads row p + 2
  };
}

/** Plain causal attention in every block. */
function fullAttention(hf: Record<string, unknown>, type: string, layerNames: readonly string[]): null[] {
  return new Array<null>(int(hf, type, layerNames)).fill(null);
}

/** A JSON object, or undefined for anything else. */
function jsonObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Rotary settings: `thetaName` (rope_theta, GPT-NeoX's rotary_emb_base) and `partialName`
 * (GPT-NeoX's rotary_pct) at the top level, or inside `rope_parameters` (rope_theta,
 * partial_rotary_factor: the layout transformers 5 writes). Only plain rotary embeddings are
 * implemented: `rope_scaling`, or a `rope_parameters` of another rope_type (or one per layer
 * type), is refused.
 */
function rotary(
  hf: Record<string, unknown>, type: string, thetaName: string, partialName?: string, partialDefault = 1,
): { theta: number; partial: number } {
  const scaling = jsonObject(hf.rope_scaling);
  if (hf.rope_scaling !== undefined && hf.rope_scaling !== null && (scaling?.rope_type ?? scaling?.type) !== "default") {
    refuse(type, `rope_scaling ${JSON.stringify(hf.rope_scaling)} is not supported (only plain rotary embeddings)`);
  }
  const params = jsonObject(hf.rope_parameters) ?? {};
  const plainParams = params.rope_type === "default" || (params.rope_type === undefined && typeof params.rope_theta === "number");
  if (hf.rope_parameters !== undefined && hf.rope_parameters !== null && !plainParams) {
    refuse(type, `rope_parameters ${JSON.stringify(hf.rope_parameters)} is not supported (only plain rotary embeddings)`);
  }
  const theta = num(hf, type, [thetaName], typeof params.rope_theta === "number" ? params.rope_theta : 10000);
  if (partialName === undefined) return { theta, partial: 1 };
  const partial = num(hf, type, [partialName], typeof params.partial_rotary_factor === "number" ? params.partial_rotary_factor : partialDefault);
  return { theta, partial };
}

/** A window size from config.json: a positive integer. */
function windowSize(hf: Record<string, unknown>, type: string): number {
  const w = hf.sliding_window;
  if (typeof w !== "number" || !Number.isInteger(w) || w <= 0) {
    refuse(type, `'sliding_window' must be a positive integer or null, got ${JSON.stringify(w)}`);
  }
  return w;
}

/**
 * Per-block windows as HF builds them. Mistral: `sliding_window` on every block (4096 when the key
 * is absent, none when it is null). Qwen2: none unless use_sliding_window, then blocks listed as
 * "sliding_attention" in layer_types, or blocks >= max_window_layers (default 28).
 */
function windows(hf: Record<string, unknown>, type: string, nLayers: number): (number | null)[] {
  if (type === "mistral") {
    if (!("sliding_window" in hf)) return new Array<number>(nLayers).fill(4096);
    return new Array<number | null>(nLayers).fill(hf.sliding_window === null ? null : windowSize(hf, type));
  }
  if (type === "qwen2" && bool(hf, type, "use_sliding_window", false) && hf.sliding_window !== null) {
    const w = "sliding_window" in hf ? windowSize(hf, type) : 4096;
    const kinds = hf.layer_types;
    if (kinds !== undefined && kinds !== null) {
      if (!Array.isArray(kinds) || kinds.length !== nLayers || kinds.some((k) => k !== "sliding_attention" && k !== "full_attention")) {
        refuse(type, `'layer_types' must list "sliding_attention" or "full_attention" for each of the ${nLayers} layers`);
      }
      return kinds.map((k) => (k === "sliding_attention" ? w : null));
    }
    const first = int(hf, type, ["max_window_layers"], 28);
    return Array.from({ length: nLayers }, (_, l) => (l >= first ? w : null));
  }
  return new Array<null>(nLayers).fill(null);
}

/**
 * Llama and the families that are Llama plus one change (same checkpoint names, same forward):
 * Qwen2 (bias on q/k/v, none on o_proj; optional sliding window) and Mistral (sliding window).
 */
function llamaLike(hf: Record<string, unknown>, t: "llama" | "qwen2" | "mistral"): Omit<DecoderConfig, "hf"> {
  if (hf.pretraining_tp !== undefined && hf.pretraining_tp !== null && hf.pretraining_tp !== 1) {
    refuse(t, `pretraining_tp=${String(hf.pretraining_tp)} is not supported (only 1)`);
  }
  const { theta } = rotary(hf, t, "rope_theta");
  const d_model = int(hf, t, ["hidden_size"]);
  const n_heads = int(hf, t, ["num_attention_heads"]);
  const n_layers = int(hf, t, ["num_hidden_layers"]);
  // MistralConfig defaults an absent num_key_value_heads to 8 (null means n_heads); the others to n_heads.
  const n_kv_heads = t === "mistral" && !("num_key_value_heads" in hf) ? 8 : int(hf, t, ["num_key_value_heads"], n_heads);
  if (n_kv_heads === 0 || n_heads % n_kv_heads !== 0) refuse(t, `num_attention_heads=${n_heads} is not a multiple of num_key_value_heads=${n_kv_heads}`);
  const d_head = int(hf, t, ["head_dim"], d_model / n_heads);
  if (d_head % 2 !== 0) refuse(t, `head_dim=${d_head} must be even for rotary embeddings`);
  // Qwen2's attention always has q/k/v biases and no o_proj bias; Mistral's has none (both ignore attention_bias).
  const qkvBias = t === "qwen2" ? true : t === "mistral" ? false : bool(hf, t, "attention_bias", false);
  const outBias = t === "llama" ? qkvBias : false;
  return {
    family: "llama", model_type: t,
    n_layers, d_model, n_heads, n_kv_heads, d_head,
    d_mlp: int(hf, t, ["intermediate_size"]),
    d_vocab: int(hf, t, ["vocab_size"]),
    n_ctx: int(hf, t, ["max_position_embeddings"], { llama: 2048, qwen2: 32768, mistral: 131072 }[t]),
    norm_eps: num(hf, t, ["rms_norm_eps"], 1e-6),
    act: activation(t, field(hf, t, ["hidden_act"], "silu"), ["silu", "gelu", "gelu_new", "relu"]),
    rope_theta: theta, rotary_dim: d_head,
    bos_token_id: optionalId(hf, "bos_token_id"), eos_token_id: optionalId(hf, "eos_token_id"),
    tie_word_embeddings: bool(hf, t, "tie_word_embeddings", false),
    attn_bias: qkvBias, attn_out_bias: outBias,
    mlp_bias: t === "llama" ? bool(hf, t, "mlp_bias", false) : false,
    pre_norm: true, final_norm: true, parallel_residual: false,
    attn_window: windows(hf, t, n_layers),
    d_embed: d_model, pos_offset: 0,
  };
}

/**
 * GPT-NeoX (Pythia): LayerNorm blocks with a fused query_key_value, partial rotary (rotary_pct of
 * each head, base rotary_emb_base), parallel or sequential residual, untied embed_out by default.
 */
function gptNeox(hf: Record<string, unknown>): Omit<DecoderConfig, "hf"> {
  const t = "gpt_neox";
  const d_model = int(hf, t, ["hidden_size"]);
  const n_heads = int(hf, t, ["num_attention_heads"]);
  const d_head = d_model / n_heads;
  const { theta, partial } = rotary(hf, t, "rotary_emb_base", "rotary_pct", 0.25);
  // HF: rotary_ndims = int(head_size * rotary_pct).
  const rotary_dim = Math.trunc(d_head * partial);
  if (Number.isInteger(d_head) && (rotary_dim <= 0 || rotary_dim % 2 !== 0 || rotary_dim > d_head)) {
    refuse(t, `rotary_pct=${partial} gives ${rotary_dim} rotary dimensions of a ${d_head}-wide head; expected an even number in 2..${d_head}`);
  }
  const bias = bool(hf, t, "attention_bias", true);
  return {
    family: "gpt_neox", model_type: t,
    n_layers: int(hf, t, ["num_hidden_layers"]),
    d_model, n_heads, n_kv_heads: n_heads, d_head,
    d_mlp: int(hf, t, ["intermediate_size"]),
    d_vocab: int(hf, t, ["vocab_size"]),
    n_ctx: int(hf, t, ["max_position_embeddings"], 2048),
    norm_eps: num(hf, t, ["layer_norm_eps"], 1e-5),
    act: activation(t, field(hf, t, ["hidden_act"], "gelu"), ["gelu", "gelu_new", "relu", "silu"]),
    rope_theta: theta, rotary_dim,
    bos_token_id: optionalId(hf, "bos_token_id"), eos_token_id: optionalId(hf, "eos_token_id"),
    tie_word_embeddings: bool(hf, t, "tie_word_embeddings", false),
    attn_bias: bias, attn_out_bias: bias, mlp_bias: true,
    pre_norm: true, final_norm: true,
    parallel_residual: bool(hf, t, "use_parallel_residual", true),
    attn_window: fullAttention(hf, t, ["num_hidden_layers"]),
    d_embed: d_model, pos_offset: 0,
  };
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
  const v = hf.model_type === "gpt2" ? (hf.n_layer ?? hf.num_hidden_layers) : hf.num_hidden_layers;
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/**
 * Normalize a parsed Hugging Face config.json into a {@link DecoderConfig}.
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
  let base: Omit<DecoderConfig, "hf">;
  switch (Object.hasOwn(SUPPORTED_MODEL_TYPES, type) ? type : undefined) {
    case "gpt2": base = gpt2(hf); break;
    case "opt": base = opt(hf); break;
    case "llama": case "qwen2": case "mistral": base = llamaLike(hf, type as "llama" | "qwen2" | "mistral"); break;
    case "gpt_neox": base = gptNeox(hf); break;
    default:
      throw new Error(`config.json: model_type '${type}' is not supported (supported: ${supported})`);
  }
  checkRanges(hf, type, base);
  if (!Number.isInteger(base.d_head) || base.d_head <= 0) {
    refuse(type, `d_model=${base.d_model} is not divisible by n_heads=${base.n_heads}`);
  }
  return Object.freeze({ ...base, hf: Object.freeze({ ...hf }) });
}
