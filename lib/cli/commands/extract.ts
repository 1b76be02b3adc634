import * as os from "node:os";
import type { Command } from "commander";
import { memoryOption, reportPeakMemory } from "../memory";
import { initBackend } from "../../backend";
import { extract, type ExtractDtype } from "../../extract/extract";
import { downloadBar, extractBar } from "../progress";
import { nonNegativeIntFlag, positiveIntFlag } from "../flags";
import { defaultExtractWorkers } from "../../extract/forward-pool";

/** --workers when not given: LINEARITY_WORKERS if set, else 1 with the native BLAS, one per core (at most 2) without. */
function defaultWorkers(): number {
  const env = process.env.LINEARITY_WORKERS;
  if (env !== undefined && env.trim() !== "") return nonNegativeIntFlag("LINEARITY_WORKERS")(env);
  return defaultExtractWorkers(os.cpus().length);
}

interface ExtractFlags {
  model: string;
  text: string;
  out: string;
  maxTokens?: number;
  spread?: boolean;
  seqLen?: number;
  dtype: string;
  batchSize?: number;
  points?: string;
  workers?: number;
  revision: string;
  shard?: string;
  memory?: string;
}

/**
 * `linearity extract --model DIR_OR_HUB_ID --text FILE_OR_corpus:brown --out DATASET [...]`: run a
 * model over text and save all n_layers+1 hidden states per token (or, with --points, sublayer
 * states). Ctrl-C (SIGINT) or SIGTERM stops after the batch in flight and exits with 130 or 143
 * (128 + the signal's number), so a script can tell a stop from a finished extraction; running
 * the same command again continues.
 */
export function registerExtract(program: Command): void {
  const command = program
    .command("extract")
    .description("run a model over text and save every hidden state (resumable)")
    .requiredOption("--model <dir-or-id>", "local model folder or Hugging Face hub id (e.g. facebook/opt-125m)")
    .requiredOption("--text <file-or-corpus>", "UTF-8 text file, or corpus:brown, corpus:brown:train, corpus:brown:heldout")
    .requiredOption("--out <dataset>", "dataset folder to create, or to continue after an interruption (never inside a dataset or model folder; one extract at a time, locked by .NAME.lock beside it)")
    .option("--max-tokens <n>", "stop after n tokens, BOS included (default: the whole text)", positiveIntFlag("--max-tokens"))
    .option("--spread", "take sequences round-robin over the documents (first of each, then second, ...) so --max-tokens samples every document")
    .option("--seq-len <n>", "tokens per sequence, BOS included (default: min(256, n_ctx))", positiveIntFlag("--seq-len"))
    .option("--dtype <type>", "float16 or float32 storage", "float32")
    .option("--batch-size <n>", "sequences per forward pass", positiveIntFlag("--batch-size"), 8)
    .option("--points <list>", "store sublayer states instead of the hidden states: embed, then per block the chosen of attn_out,resid_mid,mlp_out,resid_post, then ln_final (e.g. resid_mid,resid_post)")
    .option("--workers <n>", "worker threads running the model, each with its own copy (0 or 1: the main thread; default: LINEARITY_WORKERS, else one per core, at most 2); a model that would stream under a worker's share of --memory runs in the main thread on every BLAS thread", nonNegativeIntFlag("--workers"))
    .option("--revision <rev>", "hub revision when --model is a hub id", "main")
    .option("--shard <i/n>", "write only shard i of n (counted from 0, e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT): a contiguous share of the sequences; the n shard datasets together are the unsharded run (docs/cluster.md)");
  memoryOption(command)
    .action(async (flags: ExtractFlags) => {
      if (flags.dtype !== "float16" && flags.dtype !== "float32") {
        throw new Error(`--dtype must be float16 or float32, got '${flags.dtype}'`);
      }
      await initBackend({ nativeMatmul: true }); // forward passes on the native BLAS where it loads
      const controller = new AbortController();
      let extracting = false; // false while the model downloads and loads
      let stopCode = 0; // 130 after SIGINT, 143 after SIGTERM
      const onSignal = (signal: NodeJS.Signals): void => {
        stopCode = signal === "SIGTERM" ? 143 : 130;
        if (!extracting) {
          // Downloads keep their .part files and nothing is written yet: stop at once.
          process.stderr.write("\nlinearity: interrupted; run the same command again to resume\n");
          process.exit(stopCode);
        }
        if (controller.signal.aborted) process.exit(stopCode); // second signal: leave now (shards are atomic)
        controller.abort();
        process.stderr.write("\nlinearity: stopping after the current batch (Ctrl-C again to quit now)\n");
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const download = downloadBar();
      const bar = extractBar();
      try {
        const result = await extract({
          model: flags.model,
          text: flags.text,
          out: flags.out,
          maxTokens: flags.maxTokens,
          spread: flags.spread ?? false,
          seqLen: flags.seqLen,
          dtype: flags.dtype as ExtractDtype,
          batchSize: flags.batchSize,
          points: flags.points,
          workers: flags.workers ?? defaultWorkers(),
          revision: flags.revision,
          shard: flags.shard,
          memory: flags.memory,
          signal: controller.signal,
          onDownload: download.onProgress,
          onNotice: (m) => process.stderr.write(`linearity: ${m}\n`),
          onProgress: (p) => {
            extracting = true;
            bar.onProgress(p);
          },
        });
        bar.stop();
        const speed = result.tokensPerSecond > 0 ? `, ${result.tokensPerSecond.toFixed(0)} tokens/s` : "";
        const state = result.complete
          ? "complete"
          : "stopped early; run the same command again to continue";
        const share = result.shard === undefined ? "" : ` shard ${result.shard.index}/${result.shard.count} (sequences ${result.shard.first_sample}..${result.shard.first_sample + result.shard.n_samples - 1} of ${result.shard.total_samples}),`;
        process.stdout.write(
          `${result.out}:${share} ${result.samples} sequences, ${result.tokens} tokens (${result.tokensThisRun} this run${speed}); ${state}\n`,
        );
        reportPeakMemory(result.streamed);
        if (!result.complete && stopCode !== 0) process.exitCode = stopCode;
      } finally {
        bar.stop();
        download.stop();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
