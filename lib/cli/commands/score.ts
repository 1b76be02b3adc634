import type { Command } from "commander";
import { nativeBlas, nativeBlasStatus } from "../../native";
import { scoreFiles } from "../../analysis/score-files";
import { nonNegativeIntFlag, positiveIntFlag, positiveNumberFlag } from "../flags";

interface ScoreFlags {
  residual?: boolean;
  rcond?: number;
  rows?: number;
  digits: number;
}

/**
 * `linearity score X Y [--residual]`: the linearity score of X -> Y for two [tokens, d_model]
 * matrices (.npy, or .safetensors with one tensor). The last output line is the number alone.
 */
export function registerScore(program: Command): void {
  program
    .command("score")
    .description("linearity score of X -> Y for two [tokens, d_model] matrices (.npy or .safetensors)")
    .argument("<x>", "source states, [tokens, d_model] (.npy or single-tensor .safetensors)")
    .argument("<y>", "target states, [tokens, d_model_y], same tokens in the same order")
    .option("--residual", "score X against Y - X instead (the paper's linearity without the residual stream)")
    .option("--rcond <r>", "explicit cut: singular values of the centred, column-equilibrated X at or below r x the largest (pinv semantics); default: the precision cut, which keeps every direction the stored values resolve", positiveNumberFlag("--rcond"))
    .option("--rows <n>", "rows read per chunk", positiveIntFlag("--rows"), 4096)
    .option("--digits <n>", "decimals printed", nonNegativeIntFlag("--digits"), 6)
    .action(async (xFile: string, yFile: string, flags: ScoreFlags) => {
      // The native BLAS does every product: no TensorFlow.js backend to start (~0.1-0.3 s).
      if (nativeBlas() === undefined) await (await import("../../backend")).initBackend();
      else if (!process.env.LINEARITY_QUIET) process.stderr.write(`linearity-lab: ${nativeBlasStatus()}\n`);
      const r = await scoreFiles(xFile, yFile, { residual: flags.residual, rcond: flags.rcond, rows: flags.rows });
      const value = flags.residual ? (r.residualScore as number) : r.score;
      const what = flags.residual ? "X -> Y - X (residual removed)" : "X -> Y";
      process.stdout.write(
        `X: ${xFile} [tokens=${r.nTokens}, d_model=${r.dModelX}] ${r.dtypeX}\n` +
          `Y: ${yFile} [tokens=${r.nTokens}, d_model=${r.dModelY}] ${r.dtypeY}\n` +
          `rank of centred X: ${r.rank}\n` +
          (r.native
            ? `route: ${r.route} (native BLAS: exact products for every X, no warm-up estimate)\n`
            : `route: ${r.route} (condition estimate of X's correlation matrix ${r.conditionEstimate.toExponential(2)})\n`) +
          `linearity score ${what}:\n` +
          `${value.toFixed(flags.digits)}\n`,
      );
    });
}
