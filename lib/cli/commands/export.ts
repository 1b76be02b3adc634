import type { Command } from "commander";
import * as cliProgress from "cli-progress";
import { HiddenStateDataset } from "../../dataset/reader";
import { exportGroups, exportState, exportTokenIds } from "../../dataset/export";
import { nonNegativeIntFlag, positiveIntFlag } from "../flags";

interface ExportFlags {
  state?: number;
  ids?: boolean;
  groups?: boolean;
  out: string;
  dtype: string;
  rows?: number;
  force?: boolean;
}

/**
 * `linearity export DATASET --state B --out FILE.npy` writes state B as [tokens, d_model];
 * `linearity export DATASET --ids --out FILE.npy` writes the token ids as int32 [tokens];
 * `linearity export DATASET --groups --out FILE.npy` the document (group) id of every token.
 */
export function registerExport(program: Command): void {
  program
    .command("export")
    .description("write one state ([tokens, d_model]), the token ids or the document ids ([tokens] int32) of a dataset as .npy")
    .argument("<dataset>", "dataset folder (linearity-lab format or the original block{b}/s{i} layout)")
    .option("--state <b>", "state to export, 0..n_layers (0 = embedding output)", nonNegativeIntFlag("--state"))
    .option("--ids", "export the token ids instead")
    .option("--groups", "export each token's document id (int32 [tokens]; sequences where the dataset records no documents): the --groups file of 'linearity score'")
    .requiredOption("--out <file>", "output .npy file (written atomically; never inside a dataset folder)")
    .option("--force", "overwrite --out if it exists")
    .option("--dtype <type>", "float32 or float16 for --state", "float32")
    .option("--rows <n>", "rows per chunk", positiveIntFlag("--rows"), 4096)
    .action((dir: string, flags: ExportFlags) => {
      if ([flags.state !== undefined, flags.ids !== undefined, flags.groups !== undefined].filter(Boolean).length !== 1) {
        throw new Error("give exactly one of --state B, --ids or --groups");
      }
      if (flags.dtype !== "float32" && flags.dtype !== "float16") {
        throw new Error(`--dtype must be float32 or float16, got '${flags.dtype}'`);
      }
      const ds = HiddenStateDataset.open(dir);
      if (flags.groups) {
        const g = exportGroups(ds, flags.out, { force: flags.force });
        const note = g.from === "documents" ? "" : " (the dataset records no document ids: its sequences are the groups)";
        process.stdout.write(`${flags.out}: group ids, int32 [tokens=${ds.nTokens}], ${g.count} ${g.from}${note}\n`);
        return;
      }
      if (flags.ids) {
        exportTokenIds(ds, flags.out, { force: flags.force });
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
          force: flags.force,
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
