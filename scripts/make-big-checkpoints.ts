/**
 * Write random checkpoints of real model shapes, for `npm run bench:big` (bench/big-models.ts).
 * Never part of CI: the Llama-2-7B shape is 13.5 GB on disk.
 *
 *   npx tsx scripts/make-big-checkpoints.ts OUT_DIR [--shape NAME[,NAME...]] [--tiny] [--zeros] [--seed N] [--shard-mb N]
 *
 * Shapes (BIG_SHAPES): llama-2-7b (d_model 4,096, 32 blocks, MLP 11,008, 32 heads), mistral-7b
 * (32 heads over 8 kv heads, MLP 14,336, sliding_window 4,096) and tinyllama-1.1b (d_model 2,048,
 * 22 blocks, 32 heads over 4 kv heads, MLP 5,632); all with a vocabulary of 32,000 and untied
 * embeddings, as the published configs. Each becomes OUT_DIR/NAME with config.json, bf16
 * safetensors shards of at most --shard-mb MB (default 2,000: 7 shards for 7B) listed in
 * model.safetensors.index.json, and a Llama-style byte-fallback BPE tokenizer.json (specials,
 * the 256 byte tokens, printable ASCII and a few merges: every text encodes).
 *
 * llama-2-70b (d_model 8,192, 80 blocks, 64 heads over 8 kv heads, MLP 28,672: 138 GB in bf16) is
 * written only with `--zeros`, and is not in the default list.
 *
 * `--zeros` writes every weight matrix as zeros left as holes in sparse shard files (norm gains
 * stay 1): a checkpoint of any shape in seconds and almost no disk, for what depends only on
 * shapes (the memory plan, a block larger than the wasm heap running tensor by tensor, peak
 * memory). Its forward is trivial (every state zero after the embedding), so it says nothing
 * about speed or values.
 *
 * `--tiny` writes the same layouts at a few hundred KB (d_model 64, 2 blocks, the same head
 * grouping, a 4-position window for Mistral, 64 KB shards) so a unit test can check the output
 * loads (test/scripts/make-big-checkpoints.test.ts).
 *
 * Values: uniform on [-a, a] with the standard deviation 1 / sqrt(fan_in) (a = sqrt(3 / fan_in)),
 * norm gains 1, from xorshift32 seeded per tensor name, truncated to bf16. Not Gaussian: only
 * speed and memory are measured on these, and a plain integer generator writes 7B parameters in
 * well under a minute (numpy took 7 minutes here). Memory is bounded: each tensor is generated
 * and written in chunks of CHUNK values, so the process holds a few MB whatever the shape.
 *
 * Safety: a folder that already exists is refused (nothing is overwritten); each model is written
 * into a temporary sibling folder and renamed into place when complete, so a killed run leaves no
 * half checkpoint under the final name.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AtomicFileWriter, fsyncDir, writeFileAtomic } from "../lib/io/atomic";

/** Hyper-parameters of one Llama-layout shape (config.json's names). */
export interface BigShape {
  name: string;
  model_type: "llama" | "mistral";
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  max_position_embeddings: number;
  /** Mistral only: every block's attention window. */
  sliding_window?: number;
}

export const BIG_SHAPES: readonly BigShape[] = [
  {
    name: "llama-2-7b", model_type: "llama", hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 32, vocab_size: 32000, max_position_embeddings: 4096,
  },
  {
    name: "mistral-7b", model_type: "mistral", hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 32000, max_position_embeddings: 32768, sliding_window: 4096,
  },
  {
    name: "llama-2-70b", model_type: "llama", hidden_size: 8192, intermediate_size: 28672, num_hidden_layers: 80,
    num_attention_heads: 64, num_key_value_heads: 8, vocab_size: 32000, max_position_embeddings: 4096,
  },
  {
    name: "tinyllama-1.1b", model_type: "llama", hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22,
    num_attention_heads: 32, num_key_value_heads: 4, vocab_size: 32000, max_position_embeddings: 2048,
  },
];

/** The shape written only with --zeros (138 GB of bf16 otherwise). */
const ZEROS_ONLY = "llama-2-70b";

/** The same layout at test size: d_model 64, 2 blocks, the shape's query/kv head grouping. */
export function tinyShape(s: BigShape): BigShape {
  const group = s.num_attention_heads / s.num_key_value_heads;
  const heads = Math.max(4, group);
  return {
    ...s,
    name: `${s.name}-tiny`, hidden_size: 64, intermediate_size: 2 * Math.round((64 * s.intermediate_size) / s.hidden_size / 2),
    num_hidden_layers: 2, num_attention_heads: heads, num_key_value_heads: heads / group, vocab_size: 512,
    max_position_embeddings: 256, ...(s.sliding_window !== undefined ? { sliding_window: 4 } : {}),
  };
}

/** config.json as the published checkpoints write it (the keys this project's loader reads). */
export function configJson(s: BigShape): Record<string, unknown> {
  const arch = s.model_type === "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM";
  return {
    architectures: [arch], model_type: s.model_type, hidden_size: s.hidden_size, intermediate_size: s.intermediate_size,
    num_hidden_layers: s.num_hidden_layers, num_attention_heads: s.num_attention_heads, num_key_value_heads: s.num_key_value_heads,
    vocab_size: s.vocab_size, max_position_embeddings: s.max_position_embeddings, rms_norm_eps: 1e-5, rope_theta: 10000.0,
    hidden_act: "silu", tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, torch_dtype: "bfloat16",
    ...(s.model_type === "mistral" ? { sliding_window: s.sliding_window ?? null } : { attention_bias: false, mlp_bias: false }),
  };
}

/** One tensor of the checkpoint: HF name, shape [rows, cols] or [n], and whether it is a norm gain. */
interface TensorPlan {
  name: string;
  shape: number[];
  gain: boolean;
}

/** The tensors of a Llama-layout checkpoint in the order HF saves them (nn.Linear weights [out, in]). */
export function tensorPlan(s: BigShape): TensorPlan[] {
  const d = s.hidden_size;
  const dHead = d / s.num_attention_heads;
  const kv = s.num_key_value_heads * dHead;
  const m = s.intermediate_size;
  const t: TensorPlan[] = [{ name: "model.embed_tokens.weight", shape: [s.vocab_size, d], gain: false }];
  for (let l = 0; l < s.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    t.push({ name: `${p}.input_layernorm.weight`, shape: [d], gain: true });
    t.push({ name: `${p}.self_attn.q_proj.weight`, shape: [d, d], gain: false });
    t.push({ name: `${p}.self_attn.k_proj.weight`, shape: [kv, d], gain: false });
    t.push({ name: `${p}.self_attn.v_proj.weight`, shape: [kv, d], gain: false });
    t.push({ name: `${p}.self_attn.o_proj.weight`, shape: [d, d], gain: false });
    t.push({ name: `${p}.post_attention_layernorm.weight`, shape: [d], gain: true });
    t.push({ name: `${p}.mlp.gate_proj.weight`, shape: [m, d], gain: false });
    t.push({ name: `${p}.mlp.up_proj.weight`, shape: [m, d], gain: false });
    t.push({ name: `${p}.mlp.down_proj.weight`, shape: [d, m], gain: false });
  }
  t.push({ name: "model.norm.weight", shape: [d], gain: true });
  t.push({ name: "lm_head.weight", shape: [s.vocab_size, d], gain: false });
  return t;
}

/** Parameters of a shape, and those outside the embedding and unembedding (the per-token products). */
export function parameterCounts(s: BigShape): { total: number; nonEmbedding: number } {
  const total = tensorPlan(s).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  return { total, nonEmbedding: total - 2 * s.vocab_size * s.hidden_size };
}

/** Values generated and written per step (2 MB of bf16). */
const CHUNK = 1 << 20;

/** FNV-1a of a string mixed with the seed: a nonzero xorshift32 state per tensor. */
function tensorSeed(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

/**
 * Write `count` bf16 values of one tensor: gains are 1 (bf16 0x3f80), weights uniform on [-a, a]
 * with a = sqrt(3 / fan_in), from xorshift32. The float32 value's upper 16 bits are its bf16
 * (truncation; these are random numbers, not data to preserve).
 */
function writeTensor(w: AtomicFileWriter, t: TensorPlan, seed: number, buf: Uint16Array, f32: Float32Array, u32: Uint32Array, zeros = false): void {
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (zeros && !t.gain) return w.skip(2 * count); // bf16 zeros, as a hole
  if (t.gain) {
    buf.fill(0x3f80);
    for (let done = 0; done < count; done += CHUNK) w.write(buf.subarray(0, Math.min(CHUNK, count - done)));
    return;
  }
  // (s | 0) is uniform on [-2^31, 2^31): scaled to [-a, a).
  const scale = Math.sqrt(3 / t.shape[t.shape.length - 1]) / 2147483648;
  let s = tensorSeed(t.name, seed) | 0;
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      f32[i] = s * scale;
      buf[i] = u32[i] >>> 16;
    }
    w.write(buf.subarray(0, n));
  }
}

/** Tensors grouped into shards of at most `maxBytes` (a tensor larger than that gets a shard of its own). */
function shardsOf(plan: TensorPlan[], maxBytes: number): TensorPlan[][] {
  const shards: TensorPlan[][] = [[]];
  let bytes = 0;
  for (const t of plan) {
    const size = 2 * t.shape.reduce((a, b) => a * b, 1);
    if (bytes > 0 && bytes + size > maxBytes) {
      shards.push([]);
      bytes = 0;
    }
    shards[shards.length - 1].push(t);
    bytes += size;
  }
  return shards;
}

/** A safetensors header for `tensors` in order, padded to 8 bytes, with its length prefix. */
function shardHeader(tensors: TensorPlan[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = 2 * t.shape.reduce((a, b) => a * b, 1);
    header[t.name] = { dtype: "BF16", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([prefix, Buffer.from(json, "utf8")]);
}

/**
 * A Llama-2-style tokenizer.json: <unk>, <s>, </s>, the 256 byte-fallback tokens <0x00>..<0xFF>,
 * "▁" and the printable ASCII characters, then a few merges of common English pairs. Spaces
 * become "▁" and a "▁" is prepended, as Llama-2's normalizer does; characters outside the
 * vocabulary fall back to their UTF-8 bytes. 391 ids, within every shape's vocabulary.
 */
export function byteFallbackTokenizer(): Record<string, unknown> {
  const vocab = new Map<string, number>([["<unk>", 0], ["<s>", 1], ["</s>", 2]]);
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, vocab.size);
  vocab.set("▁", vocab.size);
  for (let c = 33; c < 127; c++) vocab.set(String.fromCharCode(c), vocab.size);
  const merges: string[] = [];
  const merge = (a: string, b: string): void => {
    if (!vocab.has(a) || !vocab.has(b)) throw new Error(`tokenizer: merge '${a} ${b}' of unknown pieces`);
    merges.push(`${a} ${b}`);
    if (!vocab.has(a + b)) vocab.set(a + b, vocab.size);
  };
  for (const [a, b] of [["▁", "t"], ["h", "e"], ["▁t", "he"], ["▁", "a"], ["i", "n"], ["e", "r"], ["a", "n"], ["o", "n"], ["▁", "o"],
    ["▁", "s"], ["r", "e"], ["e", "d"], ["i", "s"], ["▁", "w"], ["▁", "i"], ["n", "d"], ["▁a", "n"], ["▁an", "d"], ["o", "r"], ["e", "n"],
    ["▁", "c"], ["▁o", "f"], ["▁", "f"], ["▁", "b"], ["a", "t"], ["i", "t"], ["in", "g"], ["▁", "h"], ["▁", "p"], ["▁", "m"]]) {
    merge(a, b);
  }
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 0 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }],
    },
    model: {
      type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, vocab: Object.fromEntries(vocab), merges,
    },
  };
}

/** Options of {@link writeBigCheckpoint}. */
export interface BigCheckpointOptions {
  /** Seed of the weights (default 1). */
  seed?: number;
  /** Largest shard in bytes (default 2,000 MB). */
  shardBytes?: number;
  /** Called after each shard with its file name and the bytes written so far. */
  onShard?: (file: string, bytesSoFar: number) => void;
  /** Weight matrices all zero, as holes in sparse files (see the file comment). */
  zeros?: boolean;
}

/**
 * Write shape `s` as a checkpoint folder `dir` (refused if it exists): config.json, bf16 shards
 * with model.safetensors.index.json, tokenizer.json. Written into `dir`.partial-PID and renamed
 * when complete. Returns `dir`.
 */
export function writeBigCheckpoint(dir: string, s: BigShape, opts: BigCheckpointOptions = {}): string {
  if (fs.existsSync(dir)) throw new Error(`linearity: ${dir} already exists; make-big-checkpoints writes only new folders`);
  const seed = opts.seed ?? 1;
  const temp = `${dir}.partial-${process.pid}`;
  fs.mkdirSync(temp, { recursive: true });
  try {
    const shards = shardsOf(tensorPlan(s), opts.shardBytes ?? 2000e6);
    const names = shards.map((_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`);
    const weightMap: Record<string, string> = {};
    const buf = new Uint16Array(CHUNK);
    const f32 = new Float32Array(CHUNK);
    const u32 = new Uint32Array(f32.buffer);
    let total = 0;
    shards.forEach((tensors, i) => {
      const w = new AtomicFileWriter(path.join(temp, names[i]));
      try {
        w.write(shardHeader(tensors));
        for (const t of tensors) {
          writeTensor(w, t, seed, buf, f32, u32, opts.zeros);
          weightMap[t.name] = names[i];
        }
      } catch (err) {
        w.abort();
        throw err;
      }
      total += w.bytesWritten;
      w.commit();
      opts.onShard?.(names[i], total);
    });
    const totalSize = shards.flat().reduce((n, t) => n + 2 * t.shape.reduce((a, b) => a * b, 1), 0);
    writeFileAtomic(path.join(temp, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + "\n");
    writeFileAtomic(path.join(temp, "config.json"), JSON.stringify(configJson(s), null, 2) + "\n");
    writeFileAtomic(path.join(temp, "tokenizer.json"), JSON.stringify(byteFallbackTokenizer()));
    fs.renameSync(temp, dir);
    fsyncDir(path.dirname(dir));
  } catch (err) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

function main(argv: string[]): void {
  const usage = "usage: make-big-checkpoints OUT_DIR [--shape llama-2-7b,mistral-7b,tinyllama-1.1b,llama-2-70b] [--tiny] [--zeros] [--seed 1] [--shard-mb 2000]";
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i < 0) return undefined;
    if (i + 1 >= argv.length) throw new Error(`linearity: ${flag} needs a value (${usage})`);
    return argv[i + 1];
  };
  const flagsWithValues = new Set(["--shape", "--seed", "--shard-mb"]);
  const positional = argv.filter((a, i) => !a.startsWith("--") && !(i > 0 && flagsWithValues.has(argv[i - 1])));
  const unknown = argv.filter((a) => a.startsWith("--") && !flagsWithValues.has(a) && a !== "--tiny" && a !== "--zeros");
  if (unknown.length > 0) throw new Error(`linearity: unknown option ${unknown[0]} (${usage})`);
  if (positional.length !== 1) throw new Error(`linearity: make-big-checkpoints needs one OUT_DIR (${usage})`);
  const tiny = argv.includes("--tiny");
  const zeros = argv.includes("--zeros");
  const wanted = (value("--shape") ?? BIG_SHAPES.filter((s) => s.name !== ZEROS_ONLY).map((s) => s.name).join(",")).split(",");
  const number = (flag: string, fallback: number): number => {
    const v = value(flag);
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`linearity: ${flag} must be a positive number, got ${v}`);
    return n;
  };
  const seed = number("--seed", 1);
  const shardBytes = number("--shard-mb", tiny ? 0.064 : 2000) * 1e6;
  for (const name of wanted) {
    const shape = BIG_SHAPES.find((s) => s.name === name);
    if (shape === undefined) throw new Error(`linearity: unknown shape '${name}' (known: ${BIG_SHAPES.map((s) => s.name).join(", ")})`);
    if (name === ZEROS_ONLY && !zeros && !tiny) throw new Error(`linearity: ${name} is ${(2 * parameterCounts(shape).total / 1e9).toFixed(0)} GB in bf16: write it with --zeros (sparse, zero weights) or --tiny`);
    const s = tiny ? tinyShape(shape) : shape;
    const dir = path.join(positional[0], zeros ? `${s.name}-zeros` : s.name);
    const t0 = performance.now();
    writeBigCheckpoint(dir, s, {
      seed,
      shardBytes,
      zeros,
      onShard: (file, bytes) => process.stderr.write(`${s.name}: ${file} (${(bytes / 1e9).toFixed(2)} GB, ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`),
    });
    const { total } = parameterCounts(s);
    process.stdout.write(`${dir}\t${(total / 1e9).toFixed(3)}B parameters\t${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
