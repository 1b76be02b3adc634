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
    expect(() => normalizeHfConfig({ model_type: "bert" })).toThrow(/model_type 'bert' is not supported \(supported: gpt2, opt, llama, qwen2, mistral, gpt_neox\)/);
    expect(() => normalizeHfConfig({ model_type: "toString" })).toThrow(/model_type 'toString' is not supported/);
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

  it("reads a Pythia config (GPT-NeoX: partial rotary, parallel residual, untied, gelu)", () => {
    // EleutherAI/pythia-70m's config.json keys and values.
    const pythia70m = {
      architectures: ["GPTNeoXForCausalLM"], bos_token_id: 0, eos_token_id: 0, hidden_act: "gelu",
      hidden_size: 512, initializer_range: 0.02, intermediate_size: 2048, layer_norm_eps: 1e-5,
      max_position_embeddings: 2048, model_type: "gpt_neox", num_attention_heads: 8, num_hidden_layers: 6,
      rotary_emb_base: 10000, rotary_pct: 0.25, tie_word_embeddings: false, torch_dtype: "float16",
      transformers_version: "4.24.0", use_cache: true, use_parallel_residual: true, vocab_size: 50304,
    };
    const c = normalizeHfConfig(pythia70m);
    expect(c).toMatchObject({
      family: "gpt_neox", n_layers: 6, d_model: 512, n_heads: 8, n_kv_heads: 8, d_head: 64, d_mlp: 2048,
      d_vocab: 50304, n_ctx: 2048, norm_eps: 1e-5, act: "gelu", rope_theta: 10000, rotary_dim: 16,
      tie_word_embeddings: false, attn_bias: true, attn_out_bias: true, mlp_bias: true, parallel_residual: true,
      bos_token_id: 0, eos_token_id: 0,
    });
    expect(c.attn_window).toEqual([null, null, null, null, null, null]);
    // GPTNeoXConfig defaults: rotary_pct 0.25, base 10000, gelu, parallel residual, eps 1e-5.
    const bare = normalizeHfConfig({ model_type: "gpt_neox", hidden_size: 64, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 10 });
    expect(bare).toMatchObject({ rotary_dim: 4, rope_theta: 10000, act: "gelu", parallel_residual: true, norm_eps: 1e-5, n_ctx: 2048, tie_word_embeddings: false });
    expect(normalizeHfConfig({ ...pythia70m, use_parallel_residual: false, rotary_pct: 1, attention_bias: false })).toMatchObject({
      parallel_residual: false, rotary_dim: 64, attn_bias: false, attn_out_bias: false,
    });
    // transformers >= 5 writes rope_parameters instead of rotary_pct / rotary_emb_base.
    const { rotary_pct: _p, rotary_emb_base: _b, ...noRope } = pythia70m;
    expect(normalizeHfConfig({ ...noRope, rope_parameters: { rope_type: "default", rope_theta: 500, partial_rotary_factor: 0.5 } }))
      .toMatchObject({ rope_theta: 500, rotary_dim: 32 });
    expect(() => normalizeHfConfig({ ...pythia70m, rotary_pct: 0.01 })).toThrow(/rotary_pct=0.01 gives 0 rotary dimensions of a 64-wide head/);
    expect(() => normalizeHfConfig({ ...pythia70m, rope_scaling: { type: "linear", factor: 2 } })).toThrow(/rope_scaling .* is not supported/);
  });

  const qwen2 = {
    model_type: "qwen2", hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4, num_attention_heads: 8,
    num_key_value_heads: 2, vocab_size: 100, max_position_embeddings: 512, rms_norm_eps: 1e-6, rope_theta: 1000000,
    tie_word_embeddings: true, use_sliding_window: false, sliding_window: 4096, max_window_layers: 2,
  };

  it("reads Qwen2 as Llama with q/k/v biases and no o_proj bias; its window only with use_sliding_window", () => {
    expect(normalizeHfConfig(qwen2)).toMatchObject({
      family: "llama", model_type: "qwen2", n_kv_heads: 2, d_head: 8, rope_theta: 1000000, rotary_dim: 8,
      tie_word_embeddings: true, attn_bias: true, attn_out_bias: false, mlp_bias: false, attn_window: [null, null, null, null],
    });
    // attention_bias is not a Qwen2 option: HF ignores it, and so does the normalizer.
    expect(normalizeHfConfig({ ...qwen2, attention_bias: false })).toMatchObject({ attn_bias: true, attn_out_bias: false });
    expect(normalizeHfConfig({ ...qwen2, use_sliding_window: true, sliding_window: 16 }).attn_window).toEqual([null, null, 16, 16]);
    const kinds = ["sliding_attention", "full_attention", "sliding_attention", "full_attention"];
    expect(normalizeHfConfig({ ...qwen2, use_sliding_window: true, sliding_window: 16, layer_types: kinds }).attn_window).toEqual([16, null, 16, null]);
    expect(normalizeHfConfig({ ...qwen2, tie_word_embeddings: undefined }).tie_word_embeddings).toBe(false);
    expect(() => normalizeHfConfig({ ...qwen2, use_sliding_window: true, sliding_window: 0 })).toThrow(/'sliding_window' must be a positive integer or null, got 0/);
    expect(() => normalizeHfConfig({ ...qwen2, use_sliding_window: true, layer_types: ["full_attention"] })).toThrow(/'layer_types' must list/);
  });

  const mistral = {
    model_type: "mistral", hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 8,
    num_key_value_heads: 2, vocab_size: 100, max_position_embeddings: 32768, rms_norm_eps: 1e-5, rope_theta: 10000,
    sliding_window: 4096, tie_word_embeddings: false,
  };

  it("reads Mistral as Llama with a sliding window on every block, with MistralConfig's defaults", () => {
    expect(normalizeHfConfig(mistral)).toMatchObject({
      family: "llama", model_type: "mistral", attn_bias: false, attn_out_bias: false, mlp_bias: false, attn_window: [4096, 4096],
    });
    // Mistral 7B v0.2+ sets "sliding_window": null: plain causal attention.
    expect(normalizeHfConfig({ ...mistral, sliding_window: null }).attn_window).toEqual([null, null]);
    // An absent key means MistralConfig's default, 4096; an absent num_key_value_heads means 8.
    const { sliding_window: _w, num_key_value_heads: _kv, ...bare } = mistral;
    expect(normalizeHfConfig(bare)).toMatchObject({ attn_window: [4096, 4096] });
    expect(normalizeHfConfig({ ...bare, num_attention_heads: 16 }).n_kv_heads).toBe(8);
    expect(normalizeHfConfig({ ...bare, num_attention_heads: 16, num_key_value_heads: null }).n_kv_heads).toBe(16);
    expect(normalizeHfConfig({ ...mistral, head_dim: 16 }).d_head).toBe(16);
    expect(() => normalizeHfConfig({ ...mistral, sliding_window: -3 })).toThrow(/'sliding_window' must be a positive integer or null, got -3/);
  });

  it("reads rope_theta from rope_parameters (newer transformers) and refuses scaled rotary there too", () => {
    const { rope_theta: _t, ...noTheta } = llama;
    expect(normalizeHfConfig({ ...noTheta, rope_parameters: { rope_type: "default", rope_theta: 123 } }).rope_theta).toBe(123);
    expect(normalizeHfConfig({ ...llama, rope_scaling: { rope_type: "default" } }).rope_theta).toBe(500000);
    expect(() => normalizeHfConfig({ ...noTheta, rope_parameters: { rope_type: "yarn", rope_theta: 1e4, factor: 4 } })).toThrow(/rope_parameters .* is not supported/);
    const perLayerType = { full_attention: { rope_type: "default", rope_theta: 1e6 }, sliding_attention: { rope_type: "default", rope_theta: 1e4 } };
    expect(() => normalizeHfConfig({ ...noTheta, rope_parameters: perLayerType })).toThrow(/rope_parameters .* is not supported/);
  });
});
