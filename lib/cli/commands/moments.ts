import type { Command } from "commander";
import * as cliProgress from "cli-progress";
import { datasetMoments, DEFAULT_MOMENT_UNITS } from "../../analysis/dataset-moments";
import { HiddenStateDataset } from "../../dataset/reader";
import { writeMomentsFile } from "../../io/moments-file";
import { guardOutput } from "../../io/output-guard";
import { datasetShards } from "../../dataset/shard-coverage";
import { describeUnits } from "../../numerics/moment-set";
import { nonNegativeIntFlag, positiveIntFlag } from "../flags";

interface MomentsFlags {
  out: string;
  units: number;
  maxTokens?: number;
  rows?: number;
  force?: boolean;
}

/**
 * `linearity moments DATASET... --out FILE`: per-document float64 moments of every consecutive
 * pair (and so of their residual form) in one pass, as a moments file (docs/dataset-format.md,
 * "Moments files"); `linearity score FILE` scores them, `linearity merge` sums files of shards.
 */
export function registerMoments(program: Command): void {
  program
    .command("moments")
    .description("write the per-document float64 moments of a dataset's consecutive states (a mergeable moments file that 'linearity score' reads)")
    .argument("<dataset...>", "dataset folder, or the shard datasets of one extraction (read as one)")
    .requiredOption("--out <file>", "moments file to write (.safetensors; written atomically; never inside a dataset folder)")
    .option("--units <n>", `documents merged by id mod n into units (cv folds must divide it; the jackknife leaves one unit out); 0: one unit per document`, nonNegativeIntFlag("--units"), DEFAULT_MOMENT_UNITS)
    .option("--max-tokens <n>", "use only the first n tokens", positiveIntFlag("--max-tokens"))
    .option("--rows <n>", "rows read per chunk", positiveIntFlag("--rows"), 4096)
    .option("--force", "overwrite --out if it exists")
    .action((dirs: string[], flags: MomentsFlags) => {
      if (!flags.out.endsWith(".safetensors")) throw new Error(`--out: ${flags.out}: a moments file ends in .safetensors`);
      const ds = HiddenStateDataset.open(dirs);
      // A shard's file records its shard, so that merge can refuse duplicates, gaps and foreign
      // shards; not when --max-tokens leaves tokens out (it is then no longer the shard's share).
      const shards = flags.maxTokens !== undefined && flags.maxTokens < ds.nTokens ? undefined : datasetShards(ds);
      const out = guardOutput(flags.out, { kind: "file", flag: "--out", force: flags.force, reads: dirs });
      const bar = new cliProgress.SingleBar({ stream: process.stderr, format: "moments |{bar}| {value}/{total} tokens", hideCursor: true }, cliProgress.Presets.shades_classic);
      let started = false;
      const { set, groups } = datasetMoments(ds, {
        units: flags.units,
        maxTokens: flags.maxTokens,
        rows: flags.rows,
        onProgress: (done, total) => {
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(done);
        },
      });
      if (started) bar.stop();
      writeMomentsFile(out.path, set, dirs.join(" "), shards);
      const tokens = set.units.reduce((n, u) => n + u.count, 0);
      const note = groups.from === "documents" ? "" : " (the dataset records no document ids: its sequences are the groups; cv is optimistic)";
      process.stdout.write(
        `${flags.out}: moments of ${set.states.length - 1} consecutive pairs, ${tokens} tokens, ${groups.count} ${groups.from} in ${set.units.length} units (${describeUnits(set.unitRule)})${note}\n`,
      );
    });
}
