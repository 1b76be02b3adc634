import type { Command } from "commander";
import { memoryOption, reportPeakMemory } from "../memory";
import { initBackend } from "../../backend";
import { writeNpy } from "../../io/npy";
import { guardOutput } from "../../io/output-guard";
import { DEFAULT_EVAL_BATCH, DEFAULT_EVAL_TEXT, DEFAULT_EVAL_TOKENS, evaluateModel } from "../../interventions/evaluate";
import { positiveIntFlag } from "../flags";

interface EvalFlags {
  model: string;
  text: string;
  maxTokens: number;
  seqLen?: number;
  batchSize: number;
  idsOut?: string;
  force?: boolean;
  revision: string;
  memory?: string;
}

/**
 * `linearity eval --model DIR [--text SRC] [--max-tokens N] [--seq-len L] [--ids-out F.npy]`:
 * mean next-token loss on held-out text; the last line is the loss in nats/token alone.
 */
export function registerEval(program: Command): void {
  const command = program
    .command("eval")
    .description("mean next-token loss of a model folder on held-out text (last line: nats/token)")
    .requiredOption("--model <dir-or-id>", "model folder (an original checkpoint or one written by `linearity prune`) or hub id")
    .option("--text <file-or-corpus>", "UTF-8 text file or corpus:brown[:train|:heldout]", DEFAULT_EVAL_TEXT)
    .option("--max-tokens <n>", "evaluate at most n tokens, BOS included", positiveIntFlag("--max-tokens"), DEFAULT_EVAL_TOKENS)
    .option("--seq-len <n>", "tokens per sequence, BOS included (default: min(256, n_ctx))", positiveIntFlag("--seq-len"))
    .option("--batch-size <n>", "sequences per forward pass", positiveIntFlag("--batch-size"), DEFAULT_EVAL_BATCH)
    .option("--ids-out <file>", "also save the evaluated ids as int32 [sequences, seq_len] .npy (never inside a dataset or model folder)")
    .option("--force", "overwrite --ids-out if it exists")
    .option("--revision <rev>", "hub revision when --model is a hub id", "main");
  memoryOption(command)
    .action(async (flags: EvalFlags) => {
      // Checked before the model runs: an existing file, the model or the text are never overwritten.
      const idsOut = flags.idsOut === undefined ? undefined
        : guardOutput(flags.idsOut, { kind: "file", flag: "--ids-out", force: flags.force, reads: [flags.model, flags.text] });
      await initBackend({ nativeMatmul: true }); // forward passes on the native BLAS where it loads
      const started = Date.now();
      const r = await evaluateModel({
        model: flags.model, text: flags.text, maxTokens: flags.maxTokens, seqLen: flags.seqLen,
        batchSize: flags.batchSize, revision: flags.revision, memory: flags.memory,
      });
      const seconds = (Date.now() - started) / 1000;
      if (!Number.isFinite(r.natsPerToken)) {
        // NaN weights, or a config whose maths overflows: an error, never a printed NaN with exit 0.
        throw new Error(`${flags.model}: the loss is ${r.natsPerToken} (the model computes non-finite logits; check its weights and config.json)`);
      }
      if (idsOut !== undefined) {
        writeNpy(idsOut.path, { dtype: "int32", shape: [r.ids.sequences, r.ids.seqLen], data: r.ids.ids });
      }
      const lines = [
        `model: ${flags.model} (${r.nLayers} blocks, tokenizer ${r.tokenizer})`,
        `text: ${flags.text}, ${r.ids.sequences} sequences x ${r.ids.seqLen} tokens, ${r.predicted} predicted tokens (${seconds.toFixed(1)} s)`,
      ];
      if (flags.idsOut !== undefined) lines.push(`ids: ${flags.idsOut} int32 [sequences=${r.ids.sequences}, seq_len=${r.ids.seqLen}]`);
      if (r.bitsPerByte !== undefined) lines.push(`bits/byte: ${r.bitsPerByte.toFixed(4)}`);
      if (r.perplexity !== undefined) lines.push(`perplexity: ${r.perplexity.toFixed(3)}`);
      lines.push("loss (nats/token):", r.natsPerToken.toFixed(6));
      process.stdout.write(lines.join("\n") + "\n");
      reportPeakMemory(r.streamed);
    });
}
