import type { Command } from "commander";
import { readMomentsFile, writeMomentsFile } from "../../io/moments-file";
import { guardOutput } from "../../io/output-guard";
import { mergeMomentSets } from "../../numerics/moment-set";

interface MergeFlags {
  out: string;
  force?: boolean;
}

/** `linearity merge FILE... --out FILE`: the sum of moments files (shards of one dataset). */
export function registerMerge(program: Command): void {
  program
    .command("merge")
    .description("sum moments files (e.g. of the shards of one extraction) into one; exact up to float64 summation order")
    .argument("<files...>", "moments files written by 'linearity moments' (same states and units)")
    .requiredOption("--out <file>", "moments file to write (.safetensors; written atomically)")
    .option("--force", "overwrite --out if it exists")
    .action((files: string[], flags: MergeFlags) => {
      if (!flags.out.endsWith(".safetensors")) throw new Error(`--out: ${flags.out}: a moments file ends in .safetensors`);
      const out = guardOutput(flags.out, { kind: "file", flag: "--out", force: flags.force, reads: files });
      const sets = files.map((f) => readMomentsFile(f));
      let merged;
      try {
        merged = mergeMomentSets(sets);
      } catch (e) {
        throw new Error(`${(e as Error).message.replace(/^moments: /, "")} (${files.join(", ")})`);
      }
      writeMomentsFile(out.path, merged, sets.map((s) => s.source).filter(Boolean).join(" + "));
      const tokens = merged.units.reduce((n, u) => n + u.count, 0);
      process.stdout.write(`${flags.out}: ${files.length} files merged, ${tokens} tokens in ${merged.units.length} units\n`);
    });
}
