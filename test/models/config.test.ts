import { describe, expect, it } from "vitest";
import { normalizeHfConfig } from "../../lib/models/config";

const llama = {
  model_type: "llama", hidden_size: 64, intermediate_size: 128, num_hidden_layers: 3,
  num_attention_heads: 8, num_key_value_heads: 2, vocab_size: 100, max_position_embeddings: 256,
  rms_norm_eps: 1e-5, rope_theta: 500000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: [2, 3],
};

describe("normalizeHfConfig", () => {
  it("reads a Llama config (GQA, head_dim from d_model / n_heads, list eos)", () => {
    const c = normalizeHfConfig(llama);
    expect(c).toMatchObject({
      family: "llama", n_layers: 3, d_model: 64, n_heads: 8, n_kv_heads: 2, d_head: 8, d_mlp: 128,
      d_vocab: 100, n_ctx: 256, norm_eps: 1e-5, rope_theta: 500000, act: "silu",
      tie_word_embeddings: true, attn_bias: false, mlp_bias: false, bos_token_id: 1, eos_token_id: 2,
    });
    expect(c.hf.model_type).toBe("llama"); // the raw config is kept
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("uses an explicit Llama head_dim and defaults num_key_value_heads to n_heads", () => {
    const { num_key_value_heads: _, ...noKv } = llama;
    const c = normalizeHfConfig({ ...noKv, head_dim: 16 });
    expect(c.d_head).toBe(16);
    expect(c.n_kv_heads).toBe(8);
  });

  it("reads GPT-2 with HF defaults (n_inner null -> 4 d_model, gelu_new, tied)", () => {
    const c = normalizeHfConfig({ model_type: "gpt2", n_embd: 48, n_layer: 2, n_head: 4, n_positions: 32, vocab_size: 50, n_inner: null });
    expect(c).toMatchObject({ family: "gpt2", d_model: 48, d_head: 12, d_mlp: 192, act: "gelu_new", norm_eps: 1e-5, tie_word_embeddings: true, pos_offset: 0 });
  });

  it("reads OPT-125m style and OPT-350m style (post-LN, no final norm, projected embeddings)", () => {
    const base = { model_type: "opt", hidden_size: 32, ffn_dim: 64, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 64, vocab_size: 70 };
    expect(normalizeHfConfig(base)).toMatchObject({ pre_norm: true, final_norm: true, d_embed: 32, pos_offset: 2, act: "relu", attn_bias: true });
    expect(normalizeHfConfig({ ...base, do_layer_norm_before: false, word_embed_proj_dim: 16 })).toMatchObject({ pre_norm: false, final_norm: false, d_embed: 16 });
    expect(normalizeHfConfig({ ...base, _remove_final_layer_norm: true }).final_norm).toBe(false);
  });

  it("throws on an unknown model_type, listing the supported ones", () => {
    expect(() => normalizeHfConfig({ model_type: "bert" })).toThrow(/model_type 'bert' is not supported \(supported: gpt2, opt, llama\)/);
    expect(() => normalizeHfConfig({ model_type: "mistral" })).toThrow(/not supported/);
    expect(() => normalizeHfConfig({ hidden_size: 3 })).toThrow(/missing 'model_type'/);
    expect(() => normalizeHfConfig([1])).toThrow(/expected a JSON object, got an array/);
  });

  it("throws on missing sizes and on variants it does not implement", () => {
    const { hidden_size: _, ...noHidden } = llama;
    expect(() => normalizeHfConfig(noHidden)).toThrow(/missing 'hidden_size'/);
    expect(() => normalizeHfConfig({ ...llama, rope_scaling: { rope_type: "llama3", factor: 8 } })).toThrow(/rope_scaling .* is not supported/);
    expect(() => normalizeHfConfig({ ...llama, num_key_value_heads: 3 })).toThrow(/not a multiple of num_key_value_heads=3/);
    expect(() => normalizeHfConfig({ ...llama, hidden_act: "tanh" })).toThrow(/activation "tanh" is not supported/);
    expect(() => normalizeHfConfig({ ...llama, num_hidden_layers: "3" })).toThrow(/'num_hidden_layers' must be a non-negative integer/);
    expect(() => normalizeHfConfig({ model_type: "gpt2", n_embd: 50, n_layer: 2, n_head: 4, n_positions: 8, vocab_size: 5 })).toThrow(/not divisible by n_heads=4/);
    expect(() => normalizeHfConfig({ model_type: "gpt2", n_embd: 48, n_layer: 2, n_head: 4, n_positions: 8, vocab_size: 5, scale_attn_by_inverse_layer_idx: true })).toThrow(/scale_attn_by_inverse_layer_idx/);
    expect(() => normalizeHfConfig({ model_type: "opt", hidden_size: 32, ffn_dim: 64, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 64, vocab_size: 70, layer_norm_elementwise_affine: false })).toThrow(/layer_norm_elementwise_affine/);
  });
});
