/** GPT-NeoX (Pythia) config.json -> DecoderConfig (GPTNeoXConfig defaults). */
import type { DecoderConfig } from "../config";
import { activation, bool, field, fullAttention, int, num, optionalId, refuse, rotary } from "../config-fields";

/**
 * GPT-NeoX (Pythia): LayerNorm blocks with a fused query_key_value, partial rotary (rotary_pct of
 * each head, base rotary_emb_base), parallel or sequential residual, untied embed_out by default.
 */
export function neoxConfig(hf: Record<string, unknown>): Omit<DecoderConfig, "hf"> {
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

