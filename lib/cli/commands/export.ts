import type { Command } from "commander";
import * as cliProgress from "cli-progress";
import { HiddenStateDataset } from "../../dataset/reader";
import { exportState, exportTokenIds } from "../../dataset/export";
import { nonNegativeIntFlag, positiveIntFlag } from "../flags";

interface ExportFlags {
  state?: number;
  ids?: boolean;
  out: string;
  dtype: string;
  rows?: number;
}

/**
 * `linearity export DATASET --state B --out FILE.npy` writes state B as [tokens, d_model];
 * `linearity export DATASET --ids --out FILE.npy` writes the token ids as int32 [tokens].
 */
export function registerExport(program: Command): void {
  program
    .command("export")
    .description("write one state ([tokens, d_model]) or the token ids ([tokens] int32) of a dataset as .npy")
    .argument("<dataset>", "dataset folder (linearity-lab format or the original block{b}/s{i} layout)")
    .option("--state <b>", "state to export, 0..n_layers (0 = embedding output)", nonNegativeIntFlag("--state"))
    .option("--ids", "export the token ids instead")
    .requiredOption("--out <file>", "output .npy file (written atomically)")
    .option("--dtype <type>", "float32 or float16 for --state", "float32")
    .option("--rows <n>", "rows per chunk", positiveIntFlag("--rows"), 4096)
    .action((dir: string, flags: ExportFlags) => {
      if ((flags.state === undefined) === (flags.ids === undefined)) {
        throw new Error("give exactly one of --state B or --ids");
      }
      if (flags.dtype !== "float32" && flags.dtype !== "float16") {
        throw new Error(`--dtype must be float32 or float16, got '${flags.dtype}'`);
      }
      const ds = HiddenStateDataset.open(dir);
      if (flags.ids) {
        exportTokenIds(ds, flags.out);
        process.stdout.write(`${flags.out}: token ids, int32 [tokens=${ds.nTokens}]\n`);
        return;
      }
      const b = flags.state as number;
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: "export |{bar}| {value}/{total} tokens", hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      try {
        exportState(ds, b, flags.out, {
          dtype: flags.dtype,
          rows: flags.rows,
          onProgress: (done, total) => {
            if (!started) bar.start(total, 0);
            started = true;
            bar.update(done);
          },
        });
      } finally {
        if (started) bar.stop();
      }
      process.stdout.write(`${flags.out}: state ${b}, ${flags.dtype} [tokens=${ds.nTokens}, d_model=${ds.dModel}]\n`);
    });
}
