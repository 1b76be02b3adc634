import type { Command } from "commander";
import { readMomentsFile, readMomentsShards, writeMomentsFile } from "../../io/moments-file";
import { mergedShards } from "../../dataset/shard-coverage";
import { guardOutput } from "../../io/output-guard";
import { mergeMomentSets, type MomentSet } from "../../numerics/moment-set";

interface MergeFlags {
  out: string;
  force?: boolean;
  partial?: boolean;
}

/**
 * `linearity merge FILE... --out FILE`: the sum of moments files (shards of one dataset). Files of
 * shard datasets must be the shards of one extraction, each once and all of them (or, with
 * --partial, a subset: one level of a tree of merges). The files are summed one at a time, so
 * memory holds two of them, whatever their number.
 */
export function registerMerge(program: Command): void {
  program
    .command("merge")
    .description("sum moments files (e.g. of the shards of one extraction) into one; exact up to float64 summation order")
    .argument("<files...>", "moments files written by 'linearity moments' (same states and units)")
    .requiredOption("--out <file>", "moments file to write (.safetensors; written atomically)")
    .option("--force", "overwrite --out if it exists")
    .option("--partial", "files of shard datasets may hold only some of the shards (an inner merge of a tree of merges); the output records which")
    .action((files: string[], flags: MergeFlags) => {
      if (!flags.out.endsWith(".safetensors")) throw new Error(`--out: ${flags.out}: a moments file ends in .safetensors`);
      const out = guardOutput(flags.out, { kind: "file", flag: "--out", force: flags.force, reads: files });
      // Shards checked from the headers before any data is read.
      const shards = mergedShards(files.map((file) => ({ file, shards: readMomentsShards(file) })), flags.partial ?? false);
      let merged: MomentSet | undefined;
      const sources: string[] = [];
      for (const [k, file] of files.entries()) {
        const set = readMomentsFile(file);
        if (set.source) sources.push(set.source);
        try {
          merged = merged === undefined ? mergeMomentSets([set]) : mergeMomentSets([merged, set]);
        } catch (e) {
          throw new Error(`${(e as Error).message.replace(/^moments: /, "").replace("set 2 into set 1", `file ${k + 1} into ${k === 1 ? "file 1" : `files 1..${k}`}`)} (${files.join(", ")})`);
        }
      }
      const total = merged!; // files has at least one entry (commander)
      writeMomentsFile(out.path, total, sources.join(" + "), shards);
      const tokens = total.units.reduce((n, u) => n + u.count, 0);
      process.stdout.write(`${flags.out}: ${files.length} files merged, ${tokens} tokens in ${total.units.length} units${shards === undefined ? "" : `, shards ${shards.indices.join(",")} of ${shards.count}`}\n`);
    });
}
