/** GPT-2 config.json -> DecoderConfig (GPT2Config defaults). */
import type { DecoderConfig } from "../config";
import { activation, bool, field, fullAttention, int, num, optionalId, refuse } from "../config-fields";

export function gpt2Config(hf: Record<string, unknown>): Omit<DecoderConfig, "hf"> {
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

