import type { Command } from "commander";
import { initBackend } from "../../backend";
import { openMatrixFile } from "../../analysis/score-files";
import { TWONN_ESTIMATORS, defaultKeepFraction, intrinsicDimension, type TwoNNEstimator } from "../../metrics/intrinsic-dimension";
import { choiceFlag, fractionFlag, nonNegativeIntFlag, positiveIntFlag } from "../flags";

interface IntrinsicDimFlags {
  keepFraction?: number;
  estimator: TwoNNEstimator;
  maxTokens?: number;
  digits: number;
}

/**
 * `linearity intrinsic-dim X [--estimator E] [--keep-fraction F] [--max-tokens N]`: the TwoNN
 * intrinsic dimension of a [tokens, d_model] matrix, with exact nearest neighbours. The rows are
 * read into memory (tokens x d_model float32). The last output line is the number alone. An
 * undefined dimension (too few distinct points, every mu = 1) is an error naming the reason:
 * this command has no other number to print.
 */
export function registerIntrinsicDim(program: Command): void {
  program
    .command("intrinsic-dim")
    .description("TwoNN intrinsic dimension of [tokens, d_model] states (exact nearest neighbours)")
    .argument("<x>", "states, [tokens, d_model] (.npy or single-tensor .safetensors)")
    .option(
      "--estimator <name>",
      "standard (F = i/N over the points kept) or llm-microscope (LLM-Microscope's exact estimator: drops mu <= 1 + 1e-8 and counts the dropped points in F)",
      choiceFlag("--estimator", TWONN_ESTIMATORS),
      "standard",
    )
    .option(
      "--keep-fraction <f>",
      `share of the sorted r2/r1 ratios fitted (default: ${defaultKeepFraction("standard")} standard, ${defaultKeepFraction("llm-microscope")} llm-microscope)`,
      fractionFlag("--keep-fraction"),
    )
    .option("--max-tokens <n>", "use only the first n tokens (LLM-Microscope: 4096)", positiveIntFlag("--max-tokens"))
    .option("--digits <n>", "decimals printed", nonNegativeIntFlag("--digits"), 4)
    .action(async (file: string, flags: IntrinsicDimFlags) => {
      const x = openMatrixFile(file);
      const rows = Math.min(x.rows, flags.maxTokens ?? x.rows);
      if (rows < 3) throw new Error(`${file}: needs at least 3 tokens, has ${rows}`);
      await initBackend();
      const keepFraction = flags.keepFraction ?? defaultKeepFraction(flags.estimator);
      let r;
      try {
        r = intrinsicDimension(x.read(0, rows), x.dModel, { keepFraction, estimator: flags.estimator, fn: "intrinsic-dim" });
      } catch (err) {
        // The library names its argument 'x'; the user knows the file.
        if (err instanceof Error) err.message = err.message.replace(/^intrinsic-dim: 'x'/, `${file}:`);
        throw err;
      }
      const ties = flags.estimator === "llm-microscope" ? `, ties (mu <= 1 + 1e-8) dropped: ${r.ties}` : "";
      if (Number.isNaN(r.dimension)) {
        throw new Error(
          `${file}: the dimension is undefined (${r.undefinedReason}): ${r.duplicates} of ${r.tokens} tokens have an identical twin${ties}, ` +
            `${r.fitted} points to fit (raise --keep-fraction or --max-tokens)`,
        );
      }
      process.stdout.write(
        `X: ${file} [tokens=${r.tokens}${rows < x.rows ? ` of ${x.rows}` : ""}, d_model=${x.dModel}] ${x.dtype}\n` +
          `duplicates dropped: ${r.duplicates}${ties}; points fitted: ${r.fitted} (estimator ${flags.estimator}, keep fraction ${keepFraction})\n` +
          `intrinsic dimension (TwoNN):\n` +
          `${r.dimension.toFixed(flags.digits)}\n`,
      );
    });
}
