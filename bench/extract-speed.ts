/**
 * Extraction speed per model family, in tokens/s, on small random checkpoints.
 *
 *   npx tsx bench/extract-speed.ts [--d-model 256] [--n-layers 6] [--seq-len 128] [--max-tokens 8192] [--batch-size 8]
 *
 * Writes byte-level checkpoints (d_vocab 257, BOS 256, so the ByteTokenizer applies) of the GPT-2,
 * OPT-125m-style and Llama (GQA) variants of scripts/make-tiny-checkpoints.ts at the given sizes,
 * then runs `extract` over the held-out Brown Corpus into a temporary folder and prints the
 * tokens/s of each run (forward pass + copying states out + writing float32 shards).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { extract } from "../lib/extract/extract";
import { DEFAULT_SIZES, tinyVariants, writeVariant } from "../scripts/make-tiny-checkpoints";

const VOCAB = 257;
const BOS = 256;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const d = flag(args, "--d-model", 256);
  const sizes = { ...DEFAULT_SIZES, d_model: d, d_mlp: 4 * d, n_heads: d / 32, n_layers: flag(args, "--n-layers", 6), n_ctx: 512 };
  const seqLen = flag(args, "--seq-len", 128);
  const maxTokens = flag(args, "--max-tokens", 8192);
  const batchSize = flag(args, "--batch-size", 8);
  const backend = await initBackend({ quiet: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "extract-speed-"));
  process.stdout.write(
    `backend ${backend}; n_layers ${sizes.n_layers}, d_model ${d}, d_mlp ${sizes.d_mlp}, n_heads ${sizes.n_heads}; ` +
      `corpus:brown:heldout, ${maxTokens} tokens, seq-len ${seqLen}, batch ${batchSize}, float32\n`,
  );
  try {
    for (const name of ["gpt2", "opt", "llama-gqa"]) {
      const v = tinyVariants(sizes).find((x) => x.name === name)!;
      // Byte-level vocabulary: resize the embedding / unembedding rows and set BOS.
      const vocabKey = "vocab_size";
      const oldVocab = v.config[vocabKey] as number;
      const config = { ...v.config, [vocabKey]: VOCAB, bos_token_id: BOS, eos_token_id: BOS };
      const tensors = v.tensors.map((t) => (t.shape[0] === oldVocab ? { ...t, shape: [VOCAB, ...t.shape.slice(1)] } : t));
      const dir = writeVariant(path.join(tmp, name), { ...v, config, tensors });
      // Warm-up (wasm compiles kernels on first use), then the measured run.
      await extract({ model: dir, text: "corpus:brown:heldout", out: path.join(tmp, `${name}-warm`), seqLen, maxTokens: seqLen * batchSize, batchSize });
      const cpu0 = process.cpuUsage();
      const res = await extract({ model: dir, text: "corpus:brown:heldout", out: path.join(tmp, `${name}-ds`), seqLen, maxTokens, batchSize });
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      // CPU seconds include loading the weights and corpus: tokens per CPU-second is a lower bound
      // that does not depend on how busy the machine is.
      process.stdout.write(
        `${name.padEnd(10)} ${res.tokens} tokens in ${res.seconds.toFixed(2)} s wall: ${res.tokensPerSecond.toFixed(0)} tokens/s; ` +
          `${cpuSeconds.toFixed(2)} CPU s: ${(res.tokens / cpuSeconds).toFixed(0)} tokens per CPU-second; load average ${os.loadavg()[0].toFixed(1)}\n`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`extract-speed: ${(err as Error).message}\n`);
  process.exit(1);
});
