/** Llama, Qwen2 and Mistral config.json -> DecoderConfig (LlamaConfig, Qwen2Config, MistralConfig defaults). */
import type { DecoderConfig } from "../config";
import { activation, bool, field, int, num, optionalId, refuse, rotary } from "../config-fields";

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
export function llamaConfig(hf: Record<string, unknown>, t: "llama" | "qwen2" | "mistral"): Omit<DecoderConfig, "hf"> {
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

