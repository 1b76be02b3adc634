import type { Command } from "commander";
import { memoryOption, reportPeakMemory } from "../memory";
import { initBackend } from "../../backend";
import { writeFileAtomic } from "../../io/atomic";
import { guardOutput } from "../../io/output-guard";
import { logitLens } from "../../lens/lens";
import { positiveIntFlag } from "../flags";

interface LensFlags {
  model: string;
  text: string;
  maxTokens: number;
  seqLen?: number;
  spread?: boolean;
  batchSize: number;
  json?: string;
  force?: boolean;
  revision: string;
  memory?: string;
}

/**
 * `linearity lens --model DIR --text SRC [--max-tokens N] [--seq-len L] [--json OUT]`: the logit
 * lens of every hidden state against the true next token. Prints a table (state, loss in nats,
 * top-1 accuracy); --json writes {"ids", "loss", "top1", "model_loss", "positions"}.
 */
export function registerLens(program: Command): void {
  const command = program
    .command("lens")
    .description("logit lens: next-token loss and top-1 accuracy of every hidden state through the final norm and unembedding")
    .requiredOption("--model <dir-or-id>", "local model folder or Hugging Face hub id")
    .requiredOption("--text <file-or-corpus>", "UTF-8 text file, or corpus:brown, corpus:brown:train, corpus:brown:heldout")
    .option("--max-tokens <n>", "tokens evaluated, BOS included", positiveIntFlag("--max-tokens"), 4096)
    .option("--seq-len <n>", "tokens per sequence, BOS included (default: min(256, n_ctx))", positiveIntFlag("--seq-len"))
    .option("--spread", "take sequences round-robin over the documents (as extract --spread)")
    .option("--batch-size <n>", "sequences per forward pass", positiveIntFlag("--batch-size"), 8)
    .option("--json <file>", "also write ids, per-state loss and top-1 as JSON (never inside a dataset or model folder)")
    .option("--force", "overwrite --json if it exists")
    .option("--revision <rev>", "hub revision when --model is a hub id", "main");
  memoryOption(command)
    .action(async (flags: LensFlags) => {
      // Checked before the model runs: an existing file, the model or the text are never overwritten.
      const json = flags.json === undefined ? undefined
        : guardOutput(flags.json, { kind: "file", flag: "--json", force: flags.force, reads: [flags.model, flags.text] });
      await initBackend();
      const { summary, streamed } = await logitLens({
        model: flags.model,
        text: flags.text,
        maxTokens: flags.maxTokens,
        seqLen: flags.seqLen,
        spread: flags.spread,
        batchSize: flags.batchSize,
        revision: flags.revision,
        memory: flags.memory,
      });
      const bad = summary.loss.findIndex((l) => !Number.isFinite(l));
      if (bad >= 0 || !Number.isFinite(summary.modelLoss)) {
        // NaN weights, or a config whose maths overflows: an error, never a printed NaN with exit 0.
        const where = bad >= 0 ? `state ${bad}'s lens loss is ${summary.loss[bad]}` : `the model's own loss is ${summary.modelLoss}`;
        throw new Error(`${flags.model}: ${where} (the model computes non-finite values; check its weights and config.json)`);
      }
      if (flags.json !== undefined) {
        const out = {
          ids: summary.ids,
          loss: summary.loss,
          top1: summary.top1,
          model_loss: summary.modelLoss,
          positions: summary.positions,
        };
        writeFileAtomic(json!.path, JSON.stringify(out) + "\n");
      }
      const head = ["state", "loss (nats)", "top-1"];
      const rows = summary.loss.map((l, s) => [String(s), l.toFixed(4), summary.top1[s].toFixed(4)]);
      const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
      const line = (cells: string[]) => cells.map((x, c) => x.padStart(widths[c])).join("  ");
      process.stdout.write(
        `${summary.ids.length} sequences, ${summary.positions} predicted positions; model's own loss ${summary.modelLoss.toFixed(4)} nats\n` +
          [line(head), ...rows.map(line)].join("\n") +
          "\n",
      );
      reportPeakMemory(streamed);
    });
}
