import type { Command } from "commander";
import { initBackend } from "../../backend";
import { openMatrixFile } from "../../analysis/score-files";
import { DEFAULT_KEEP_FRACTION, intrinsicDimension } from "../../metrics/intrinsic-dimension";
import { fractionFlag, nonNegativeIntFlag, positiveIntFlag } from "../flags";

interface IntrinsicDimFlags {
  keepFraction: number;
  maxTokens?: number;
  digits: number;
}

/**
 * `linearity intrinsic-dim X [--keep-fraction F] [--max-tokens N]`: the TwoNN intrinsic
 * dimension of a [tokens, d_model] matrix, with exact nearest neighbours. The rows are read into
 * memory (tokens x d_model float32). The last output line is the number alone.
 */
export function registerIntrinsicDim(program: Command): void {
  program
    .command("intrinsic-dim")
    .description("TwoNN intrinsic dimension of [tokens, d_model] states (exact nearest neighbours)")
    .argument("<x>", "states, [tokens, d_model] (.npy or single-tensor .safetensors)")
    .option(
      "--keep-fraction <f>",
      `share of the sorted r2/r1 ratios fitted (scikit-dimension ${DEFAULT_KEEP_FRACTION}; LLM-Microscope 0.2)`,
      fractionFlag("--keep-fraction"),
      DEFAULT_KEEP_FRACTION,
    )
    .option("--max-tokens <n>", "use only the first n tokens (LLM-Microscope: 4096)", positiveIntFlag("--max-tokens"))
    .option("--digits <n>", "decimals printed", nonNegativeIntFlag("--digits"), 4)
    .action(async (file: string, flags: IntrinsicDimFlags) => {
      const x = openMatrixFile(file);
      const rows = Math.min(x.rows, flags.maxTokens ?? x.rows);
      if (rows < 3) throw new Error(`${file}: needs at least 3 tokens, has ${rows}`);
      await initBackend();
      const r = intrinsicDimension(x.read(0, rows), x.dModel, { keepFraction: flags.keepFraction, fn: "intrinsic-dim" });
      if (Number.isNaN(r.dimension)) {
        throw new Error(
          `${file}: ${r.duplicates} of ${r.tokens} tokens have an identical twin, leaving ${r.tokens - r.duplicates} points; ` +
            `TwoNN needs at least 2 to fit (raise --keep-fraction or --max-tokens)`,
        );
      }
      process.stdout.write(
        `X: ${file} [tokens=${r.tokens}${rows < x.rows ? ` of ${x.rows}` : ""}, d_model=${x.dModel}] ${x.dtype}\n` +
          `duplicates dropped: ${r.duplicates}; points fitted: ${r.fitted} (keep fraction ${flags.keepFraction})\n` +
          `intrinsic dimension (TwoNN):\n` +
          `${r.dimension.toFixed(flags.digits)}\n`,
      );
    });
}
