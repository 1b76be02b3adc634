/** OPT config.json -> DecoderConfig (OPTConfig defaults). */
import type { DecoderConfig } from "../config";
import { activation, bool, field, fullAttention, int, optionalId, refuse } from "../config-fields";

export function optConfig(hf: Record<string, unknown>): Omit<DecoderConfig, "hf"> {
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

