import type { Command } from "commander";
import { initBackend } from "../../backend";
import { openMatrixFile } from "../../analysis/score-files";
import { AnisotropyAccumulator } from "../../metrics/anisotropy";
import { nonNegativeIntFlag, positiveIntFlag } from "../flags";

interface AnisotropyFlags {
  rows: number;
  digits: number;
}

/**
 * `linearity anisotropy X`: the anisotropy of a [tokens, d_model] matrix (.npy or single-tensor
 * .safetensors), streamed in chunks. The last output line is the number alone.
 */
export function registerAnisotropy(program: Command): void {
  program
    .command("anisotropy")
    .description("anisotropy of [tokens, d_model] states: largest eigenvalue of the centred covariance over its trace")
    .argument("<x>", "states, [tokens, d_model] (.npy or single-tensor .safetensors)")
    .option("--rows <n>", "rows read per chunk", positiveIntFlag("--rows"), 4096)
    .option("--digits <n>", "decimals printed", nonNegativeIntFlag("--digits"), 6)
    .action(async (file: string, flags: AnisotropyFlags) => {
      const x = openMatrixFile(file);
      if (x.rows < 2) throw new Error(`${file}: needs at least 2 tokens, has ${x.rows}`);
      await initBackend();
      const acc = new AnisotropyAccumulator(x.dModel, { fn: "anisotropy", name: file });
      for (let start = 0; start < x.rows; start += flags.rows) acc.add(x.read(start, Math.min(x.rows, start + flags.rows)));
      const r = acc.result();
      process.stdout.write(
        `X: ${file} [tokens=${r.tokens}, d_model=${x.dModel}] ${x.dtype}\n` +
          `top variance ${r.topVariance.toPrecision(6)} of total ${r.totalVariance.toPrecision(6)} (per token)\n` +
          `anisotropy (largest eigenvalue / trace of the centred covariance):\n` +
          `${r.anisotropy.toFixed(flags.digits)}\n`,
      );
    });
}
