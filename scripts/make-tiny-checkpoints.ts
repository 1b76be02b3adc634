/**
 * Write tiny random Hugging Face checkpoints (config.json + model.safetensors) of every family
 * the project runs, for tests and benchmarks. Nothing binary is committed: tests call
 * makeTinyCheckpoints() into a temporary folder.
 *
 *   npx tsx scripts/make-tiny-checkpoints.ts OUT_DIR [--d-model N] [--n-layers N] [--seed N]
 *
 * Writes one folder per variant under OUT_DIR (see TINY_VARIANTS): Llama with grouped-query
 * attention (plus F16, BF16 and 2-shard copies of the same weights), Llama with tied embeddings,
 * biases and an explicit head_dim, GPT-2 (GPT2LMHeadModel names with the old attn.bias buffers),
 * OPT-125m style (pre-LN, positions offset 2) and OPT-350m style (post-LN, project_in/out),
 * GPT-NeoX in Pythia's layout (parallel residual, rotary_pct 0.25, old mask/rotary buffers) and
 * sequential (use_parallel_residual=false, tied), Qwen2 (q/k/v biases, tied; and untied with a
 * sliding window on its later blocks) and Mistral (sliding window shorter than the test sequences).
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../lib/io/atomic";
import { writeSafetensors, type SafetensorsInput } from "../lib/io/safetensors";

/** Deterministic normal samples (mulberry32 + Box-Muller), so checkpoints are reproducible. */
export class SeededNormal {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  private uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  next(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  array(n: number, std: number, mean = 0): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.next();
    return out;
  }
}

/** One tensor to write: HF name, shape, and how to fill it. */
interface TensorPlan {
  name: string;
  shape: number[];
  kind: "weight" | "gain" | "bias" | "buffer" | "causal-mask";
}

/** Sizes shared by the variants; the defaults make checkpoints of a few hundred KB. */
export interface TinySizes {
  n_layers: number;
  d_model: number;
  n_heads: number;
  d_mlp: number;
  n_ctx: number;
}

export const DEFAULT_SIZES: TinySizes = { n_layers: 2, d_model: 32, n_heads: 4, d_mlp: 64, n_ctx: 64 };

/** A checkpoint variant: its config.json and the tensors HF would save for it. */
export interface TinyVariant {
  name: string;
  config: Record<string, unknown>;
  tensors: TensorPlan[];
  dtype: "F32" | "F16" | "BF16";
  /** Split into this many shards with a model.safetensors.index.json (1 = one file). */
  shards: number;
  /** Seed of the weights (variants with the same seed and tensors hold the same values). */
  seed: number;
}

function llamaPlan(cfg: Record<string, any>): TensorPlan[] {
  const d = cfg.hidden_size, dh = cfg.head_dim ?? d / cfg.num_attention_heads;
  const q = cfg.num_attention_heads * dh, kv = cfg.num_key_value_heads * dh, m = cfg.intermediate_size;
  const t: TensorPlan[] = [{ name: "model.embed_tokens.weight", shape: [cfg.vocab_size, d], kind: "weight" }];
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    t.push({ name: `${p}.input_layernorm.weight`, shape: [d], kind: "gain" });
    for (const [n, rows, cols] of [["q_proj", q, d], ["k_proj", kv, d], ["v_proj", kv, d], ["o_proj", d, q]] as const) {
      t.push({ name: `${p}.self_attn.${n}.weight`, shape: [rows, cols], kind: "weight" });
      // attention_bias "qkv": Qwen2's layout, biases on q/k/v but not on o_proj.
      if (cfg.attention_bias === true || (cfg.attention_bias === "qkv" && n !== "o_proj")) {
        t.push({ name: `${p}.self_attn.${n}.bias`, shape: [rows], kind: "bias" });
      }
    }
    t.push({ name: `${p}.post_attention_layernorm.weight`, shape: [d], kind: "gain" });
    for (const [n, rows, cols] of [["gate_proj", m, d], ["up_proj", m, d], ["down_proj", d, m]] as const) {
      t.push({ name: `${p}.mlp.${n}.weight`, shape: [rows, cols], kind: "weight" });
      if (cfg.mlp_bias) t.push({ name: `${p}.mlp.${n}.bias`, shape: [rows], kind: "bias" });
    }
  }
  t.push({ name: "model.norm.weight", shape: [d], kind: "gain" });
  if (!cfg.tie_word_embeddings) t.push({ name: "lm_head.weight", shape: [cfg.vocab_size, d], kind: "weight" });
  return t;
}

function gpt2Plan(cfg: Record<string, any>): TensorPlan[] {
  const d = cfg.n_embd, m = cfg.n_inner ?? 4 * d;
  const P = "transformer."; // GPT2LMHeadModel's prefix
  const t: TensorPlan[] = [
    { name: `${P}wte.weight`, shape: [cfg.vocab_size, d], kind: "weight" },
    { name: `${P}wpe.weight`, shape: [cfg.n_positions, d], kind: "weight" },
  ];
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `${P}h.${l}`;
    t.push(
      { name: `${p}.ln_1.weight`, shape: [d], kind: "gain" }, { name: `${p}.ln_1.bias`, shape: [d], kind: "bias" },
      { name: `${p}.attn.c_attn.weight`, shape: [d, 3 * d], kind: "weight" }, { name: `${p}.attn.c_attn.bias`, shape: [3 * d], kind: "bias" },
      { name: `${p}.attn.c_proj.weight`, shape: [d, d], kind: "weight" }, { name: `${p}.attn.c_proj.bias`, shape: [d], kind: "bias" },
      // Old GPT-2 checkpoints store the causal mask as a buffer; loaders must skip it.
      { name: `${p}.attn.bias`, shape: [1, 1, cfg.n_positions, cfg.n_positions], kind: "buffer" },
      { name: `${p}.ln_2.weight`, shape: [d], kind: "gain" }, { name: `${p}.ln_2.bias`, shape: [d], kind: "bias" },
      { name: `${p}.mlp.c_fc.weight`, shape: [d, m], kind: "weight" }, { name: `${p}.mlp.c_fc.bias`, shape: [m], kind: "bias" },
      { name: `${p}.mlp.c_proj.weight`, shape: [m, d], kind: "weight" }, { name: `${p}.mlp.c_proj.bias`, shape: [d], kind: "bias" },
    );
  }
  t.push({ name: `${P}ln_f.weight`, shape: [d], kind: "gain" }, { name: `${P}ln_f.bias`, shape: [d], kind: "bias" });
  return t;
}

function optPlan(cfg: Record<string, any>, prefix: string): TensorPlan[] {
  const d = cfg.hidden_size, e = cfg.word_embed_proj_dim ?? d, m = cfg.ffn_dim;
  const t: TensorPlan[] = [
    { name: `${prefix}embed_tokens.weight`, shape: [cfg.vocab_size, e], kind: "weight" },
    { name: `${prefix}embed_positions.weight`, shape: [cfg.max_position_embeddings + 2, d], kind: "weight" },
  ];
  if (e !== d) {
    t.push({ name: `${prefix}project_in.weight`, shape: [d, e], kind: "weight" });
    t.push({ name: `${prefix}project_out.weight`, shape: [e, d], kind: "weight" });
  }
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `${prefix}layers.${l}`;
    for (const n of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      t.push({ name: `${p}.self_attn.${n}.weight`, shape: [d, d], kind: "weight" }, { name: `${p}.self_attn.${n}.bias`, shape: [d], kind: "bias" });
    }
    t.push(
      { name: `${p}.self_attn_layer_norm.weight`, shape: [d], kind: "gain" }, { name: `${p}.self_attn_layer_norm.bias`, shape: [d], kind: "bias" },
      { name: `${p}.fc1.weight`, shape: [m, d], kind: "weight" }, { name: `${p}.fc1.bias`, shape: [m], kind: "bias" },
      { name: `${p}.fc2.weight`, shape: [d, m], kind: "weight" }, { name: `${p}.fc2.bias`, shape: [d], kind: "bias" },
      { name: `${p}.final_layer_norm.weight`, shape: [d], kind: "gain" }, { name: `${p}.final_layer_norm.bias`, shape: [d], kind: "bias" },
    );
  }
  if (cfg.do_layer_norm_before !== false) {
    t.push({ name: `${prefix}final_layer_norm.weight`, shape: [d], kind: "gain" }, { name: `${prefix}final_layer_norm.bias`, shape: [d], kind: "bias" });
  }
  return t;
}

/** GPTNeoXForCausalLM names; `buffers` adds the causal-mask/rotary buffers old Pythia checkpoints carry. */
function neoxPlan(cfg: Record<string, any>, buffers: boolean): TensorPlan[] {
  const d = cfg.hidden_size, m = cfg.intermediate_size, n = cfg.max_position_embeddings;
  const dHead = d / cfg.num_attention_heads, rot = Math.trunc(dHead * cfg.rotary_pct);
  const P = "gpt_neox.";
  const t: TensorPlan[] = [{ name: `${P}embed_in.weight`, shape: [cfg.vocab_size, d], kind: "weight" }];
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `${P}layers.${l}`;
    t.push(
      { name: `${p}.input_layernorm.weight`, shape: [d], kind: "gain" }, { name: `${p}.input_layernorm.bias`, shape: [d], kind: "bias" },
      { name: `${p}.post_attention_layernorm.weight`, shape: [d], kind: "gain" }, { name: `${p}.post_attention_layernorm.bias`, shape: [d], kind: "bias" },
      { name: `${p}.attention.query_key_value.weight`, shape: [3 * d, d], kind: "weight" }, { name: `${p}.attention.query_key_value.bias`, shape: [3 * d], kind: "bias" },
      { name: `${p}.attention.dense.weight`, shape: [d, d], kind: "weight" }, { name: `${p}.attention.dense.bias`, shape: [d], kind: "bias" },
      { name: `${p}.mlp.dense_h_to_4h.weight`, shape: [m, d], kind: "weight" }, { name: `${p}.mlp.dense_h_to_4h.bias`, shape: [m], kind: "bias" },
      { name: `${p}.mlp.dense_4h_to_h.weight`, shape: [d, m], kind: "weight" }, { name: `${p}.mlp.dense_4h_to_h.bias`, shape: [d], kind: "bias" },
    );
    if (buffers) {
      t.push(
        { name: `${p}.attention.bias`, shape: [1, 1, n, n], kind: "causal-mask" },
        { name: `${p}.attention.masked_bias`, shape: [], kind: "buffer" },
        { name: `${p}.attention.rotary_emb.inv_freq`, shape: [rot / 2], kind: "buffer" },
      );
    }
  }
  t.push({ name: `${P}final_layer_norm.weight`, shape: [d], kind: "gain" }, { name: `${P}final_layer_norm.bias`, shape: [d], kind: "bias" });
  if (!cfg.tie_word_embeddings) t.push({ name: "embed_out.weight", shape: [cfg.vocab_size, d], kind: "weight" });
  return t;
}

/** The variants written by makeTinyCheckpoints, at the given sizes. */
export function tinyVariants(s: TinySizes = DEFAULT_SIZES, seed = 1234): TinyVariant[] {
  const llamaGqa = {
    architectures: ["LlamaForCausalLM"], model_type: "llama",
    hidden_size: s.d_model, intermediate_size: s.d_mlp, num_hidden_layers: s.n_layers,
    num_attention_heads: s.n_heads, num_key_value_heads: s.n_heads / 2,
    max_position_embeddings: s.n_ctx, vocab_size: 61, rms_norm_eps: 1e-6, rope_theta: 10000,
    hidden_act: "silu", tie_word_embeddings: false, attention_bias: false, mlp_bias: false,
    bos_token_id: 1, eos_token_id: 2, torch_dtype: "float32",
  };
  const llamaTied = {
    ...llamaGqa, num_key_value_heads: s.n_heads, head_dim: (2 * s.d_model) / s.n_heads,
    tie_word_embeddings: true, attention_bias: true, mlp_bias: true, rope_theta: 500, rms_norm_eps: 1e-5,
  };
  const gpt2 = {
    architectures: ["GPT2LMHeadModel"], model_type: "gpt2",
    n_embd: s.d_model, n_layer: s.n_layers, n_head: s.n_heads, n_inner: null, n_positions: s.n_ctx,
    vocab_size: 67, layer_norm_epsilon: 1e-5, activation_function: "gelu_new",
    bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: true,
  };
  const opt = {
    architectures: ["OPTForCausalLM"], model_type: "opt",
    hidden_size: s.d_model, ffn_dim: s.d_mlp, num_hidden_layers: s.n_layers, num_attention_heads: s.n_heads,
    max_position_embeddings: s.n_ctx, vocab_size: 71, word_embed_proj_dim: s.d_model,
    do_layer_norm_before: true, activation_function: "relu", enable_bias: true,
    layer_norm_elementwise_affine: true, pad_token_id: 1, bos_token_id: 2, eos_token_id: 2,
  };
  const opt350 = { ...opt, do_layer_norm_before: false, word_embed_proj_dim: s.d_model / 2 };
  // Pythia's config.json keys (transformers 4.24 era), sizes shrunk.
  const neox = {
    architectures: ["GPTNeoXForCausalLM"], model_type: "gpt_neox",
    hidden_size: s.d_model, intermediate_size: s.d_mlp, num_hidden_layers: s.n_layers,
    num_attention_heads: s.n_heads, max_position_embeddings: s.n_ctx, vocab_size: 73,
    hidden_act: "gelu", layer_norm_eps: 1e-5, rotary_pct: 0.25, rotary_emb_base: 10000,
    use_parallel_residual: true, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 0,
    initializer_range: 0.02, use_cache: true, torch_dtype: "float16",
  };
  const neoxSequential = {
    ...neox, use_parallel_residual: false, rotary_pct: 0.5, rotary_emb_base: 500, tie_word_embeddings: true, layer_norm_eps: 1e-6,
  };
  // Qwen2: q/k/v biases, none on o_proj; Qwen2-0.5B-style tied embeddings and a large rope_theta.
  const qwen2 = {
    architectures: ["Qwen2ForCausalLM"], model_type: "qwen2",
    hidden_size: s.d_model, intermediate_size: s.d_mlp, num_hidden_layers: s.n_layers,
    num_attention_heads: s.n_heads, num_key_value_heads: s.n_heads / 2,
    max_position_embeddings: s.n_ctx, vocab_size: 79, rms_norm_eps: 1e-6, rope_theta: 1000000,
    hidden_act: "silu", tie_word_embeddings: true, use_sliding_window: false, sliding_window: 32768,
    max_window_layers: 21, bos_token_id: 77, eos_token_id: 78, torch_dtype: "bfloat16",
  };
  // Untied, with a 3-position window on blocks >= 1 (use_sliding_window, max_window_layers 1).
  const qwen2Window = { ...qwen2, tie_word_embeddings: false, use_sliding_window: true, sliding_window: 3, max_window_layers: 1 };
  // Mistral: multi-query attention (one kv head) and a 4-position window on every block (tests use 7 positions).
  const mistral = {
    architectures: ["MistralForCausalLM"], model_type: "mistral",
    hidden_size: s.d_model, intermediate_size: s.d_mlp, num_hidden_layers: s.n_layers,
    num_attention_heads: s.n_heads, num_key_value_heads: 1,
    max_position_embeddings: s.n_ctx, vocab_size: 83, rms_norm_eps: 1e-5, rope_theta: 10000,
    hidden_act: "silu", tie_word_embeddings: false, sliding_window: 4, bos_token_id: 1, eos_token_id: 2,
    torch_dtype: "bfloat16",
  };
  return [
    { name: "llama-gqa", config: llamaGqa, tensors: llamaPlan(llamaGqa), dtype: "F32", shards: 1, seed },
    { name: "llama-gqa-f16", config: { ...llamaGqa, torch_dtype: "float16" }, tensors: llamaPlan(llamaGqa), dtype: "F16", shards: 1, seed },
    { name: "llama-gqa-bf16", config: { ...llamaGqa, torch_dtype: "bfloat16" }, tensors: llamaPlan(llamaGqa), dtype: "BF16", shards: 1, seed },
    { name: "llama-gqa-sharded", config: llamaGqa, tensors: llamaPlan(llamaGqa), dtype: "F32", shards: 2, seed },
    { name: "llama-tied", config: llamaTied, tensors: llamaPlan(llamaTied), dtype: "F32", shards: 1, seed: seed + 1 },
    { name: "gpt2", config: gpt2, tensors: gpt2Plan(gpt2), dtype: "F32", shards: 1, seed: seed + 2 },
    { name: "opt", config: opt, tensors: optPlan(opt, "model.decoder."), dtype: "F32", shards: 1, seed: seed + 3 },
    { name: "opt-350m-style", config: opt350, tensors: optPlan(opt350, "decoder."), dtype: "F32", shards: 1, seed: seed + 4 },
    { name: "neox", config: neox, tensors: neoxPlan(neox, true), dtype: "F32", shards: 1, seed: seed + 5 },
    { name: "neox-sequential", config: neoxSequential, tensors: neoxPlan(neoxSequential, false), dtype: "F32", shards: 1, seed: seed + 6 },
    { name: "qwen2", config: qwen2, tensors: llamaPlan({ ...qwen2, attention_bias: "qkv" }), dtype: "F32", shards: 1, seed: seed + 7 },
    { name: "qwen2-window", config: qwen2Window, tensors: llamaPlan({ ...qwen2Window, attention_bias: "qkv" }), dtype: "F32", shards: 1, seed: seed + 8 },
    { name: "mistral", config: mistral, tensors: llamaPlan(mistral), dtype: "F32", shards: 1, seed: seed + 9 },
  ];
}

/** Random values for one tensor: weights N(0, 1/sqrt(fan_in)), gains 1 + N(0, 0.1), biases N(0, 0.1). */
function fill(t: TensorPlan, rng: SeededNormal): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  switch (t.kind) {
    case "weight": return rng.array(n, 1 / Math.sqrt(t.shape[t.shape.length - 1]));
    case "gain": return rng.array(n, 0.1, 1);
    case "bias": return rng.array(n, 0.1);
    case "buffer": return new Float32Array(n).fill(1);
    case "causal-mask": {
      // torch.tril(ones(n_ctx, n_ctx)) as HF registers it: 1 on and below the diagonal.
      const size = t.shape[t.shape.length - 1];
      const out = new Float32Array(n);
      for (let r = 0; r < size; r++) for (let c = 0; c <= r; c++) out[r * size + c] = 1;
      return out;
    }
  }
}

/** Write one variant into `dir` (created). Returns the folder. */
export function writeVariant(dir: string, v: TinyVariant): string {
  fs.mkdirSync(dir, { recursive: true });
  const rng = new SeededNormal(v.seed);
  const inputs: [string, SafetensorsInput][] = v.tensors.map((t) => [t.name, { dtype: t.kind === "causal-mask" ? "BOOL" : t.kind === "buffer" ? "F32" : v.dtype, shape: t.shape, data: fill(t, rng) }]);
  if (v.shards <= 1) {
    writeSafetensors(path.join(dir, "model.safetensors"), Object.fromEntries(inputs), { format: "pt" });
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(inputs.length / v.shards);
    for (let s = 0; s < v.shards; s++) {
      const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(v.shards).padStart(5, "0")}.safetensors`;
      const part = inputs.slice(s * per, (s + 1) * per);
      for (const [name] of part) weightMap[name] = file;
      writeSafetensors(path.join(dir, file), Object.fromEntries(part), { format: "pt" });
    }
    writeFileAtomic(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2) + "\n");
  }
  writeFileAtomic(path.join(dir, "config.json"), JSON.stringify(v.config, null, 2) + "\n");
  return dir;
}

/** Write every variant under `outDir`; returns variant name -> folder. */
export function makeTinyCheckpoints(outDir: string, sizes: TinySizes = DEFAULT_SIZES, seed = 1234): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of tinyVariants(sizes, seed)) out[v.name] = writeVariant(path.join(outDir, v.name), v);
  return out;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const outDir = args.find((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
  if (outDir === undefined) {
    process.stderr.write("usage: make-tiny-checkpoints OUT_DIR [--d-model 32] [--n-layers 2] [--seed 1234]\n");
    process.exit(1);
  }
  const opt = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const d = opt("--d-model", DEFAULT_SIZES.d_model);
  const sizes = { ...DEFAULT_SIZES, d_model: d, d_mlp: 2 * d, n_heads: Math.max(2, d / 8), n_layers: opt("--n-layers", DEFAULT_SIZES.n_layers) };
  const written = makeTinyCheckpoints(outDir, sizes, opt("--seed", 1234));
  for (const [name, dir] of Object.entries(written)) process.stdout.write(`${name}\t${dir}\n`);
}
