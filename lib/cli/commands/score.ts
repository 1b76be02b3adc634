import type { Command } from "commander";
import { initBackend } from "../../backend";
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
    .option("--rcond <r>", "relative cut-off for rank-deficient X (pinv semantics; default 1e-3)", positiveNumberFlag("--rcond"))
    .option("--rows <n>", "rows read per chunk", positiveIntFlag("--rows"), 4096)
    .option("--digits <n>", "decimals printed", nonNegativeIntFlag("--digits"), 6)
    .action(async (xFile: string, yFile: string, flags: ScoreFlags) => {
      await initBackend();
      const r = await scoreFiles(xFile, yFile, { residual: flags.residual, rcond: flags.rcond, rows: flags.rows });
      const value = flags.residual ? (r.residualScore as number) : r.score;
      const what = flags.residual ? "X -> Y - X (residual removed)" : "X -> Y";
      process.stdout.write(
        `X: ${xFile} [tokens=${r.nTokens}, d_model=${r.dModelX}] ${r.dtypeX}\n` +
          `Y: ${yFile} [tokens=${r.nTokens}, d_model=${r.dModelY}] ${r.dtypeY}\n` +
          `rank of centred X: ${r.rank}\n` +
          `linearity score ${what}:\n` +
          `${value.toFixed(flags.digits)}\n`,
      );
    });
}
