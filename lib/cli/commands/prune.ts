import type { Command } from "commander";
import { memoryOption, reportPeakMemory } from "../memory";
import { initBackend } from "../../backend";
import { DEFAULT_EVAL_BATCH } from "../../interventions/evaluate";
import { DEFAULT_CALIBRATE_TEXT, DEFAULT_CALIBRATE_TOKENS, prune } from "../../interventions/prune";
import type { ReplaceMode } from "../../interventions/replace";
import type { SelectRule } from "../../interventions/select";
import type { SaveDtype } from "../../models/save";
import { positiveIntFlag } from "../flags";

interface PruneFlags {
  model: string;
  blocks: number;
  select: string;
  replace: string;
  calibrate: string;
  calibrateTokens: number;
  seqLen?: number;
  batchSize: number;
  out: string;
  force?: boolean;
  dtype: string;
  revision: string;
  memory?: string;
}

const DTYPES = ["float32", "float16", "bfloat16"];

/**
 * `linearity prune --model DIR --blocks K --select linearity|angular|bi --replace remove|linear
 * [--calibrate SRC] [--calibrate-tokens N] --out DIR2`.
 */
export function registerPrune(program: Command): void {
  const command = program
    .command("prune")
    .description("remove K blocks, or replace them by fitted linear maps, and write a new model folder")
    .requiredOption("--model <dir-or-id>", "model folder or hub id")
    .requiredOption("--blocks <k>", "number of blocks to change", positiveIntFlag("--blocks"))
    .requiredOption("--select <rule>", "linearity (most linear blocks), angular (closest contiguous run, last token), bi (lowest block influence)")
    .requiredOption("--replace <mode>", "remove (skip the blocks) or linear (fit an affine map per block, sequentially)")
    .option("--calibrate <file-or-corpus>", "text the blocks are measured and fitted on", DEFAULT_CALIBRATE_TEXT)
    .option("--calibrate-tokens <n>", "calibration tokens, BOS included", positiveIntFlag("--calibrate-tokens"), DEFAULT_CALIBRATE_TOKENS)
    .option("--seq-len <n>", "tokens per calibration sequence, BOS included (default: min(256, n_ctx))", positiveIntFlag("--seq-len"))
    .option("--batch-size <n>", "sequences per forward pass", positiveIntFlag("--batch-size"), DEFAULT_EVAL_BATCH)
    .requiredOption("--out <dir>", "new model folder, written whole (an earlier prune result is replaced; never the source or inside a dataset/model folder)")
    .option("--force", "replace an existing --out folder that prune did not write")
    .option("--dtype <type>", `weights of the new folder: ${DTYPES.join(", ")}`, "float32")
    .option("--revision <rev>", "hub revision when --model is a hub id", "main");
  memoryOption(command)
    .action(async (flags: PruneFlags) => {
      if (!DTYPES.includes(flags.dtype)) throw new Error(`--dtype must be one of ${DTYPES.join(", ")}, got '${flags.dtype}'`);
      await initBackend();
      const r = await prune({
        model: flags.model, blocks: flags.blocks, select: flags.select as SelectRule, replace: flags.replace as ReplaceMode,
        calibrate: flags.calibrate, calibrateTokens: flags.calibrateTokens, seqLen: flags.seqLen, batchSize: flags.batchSize,
        out: flags.out, force: flags.force, dtype: flags.dtype as SaveDtype, revision: flags.revision, memory: flags.memory,
        onStage: (m) => process.stderr.write(`${m}\n`),
      });
      const { stats, selection } = r;
      const n = stats.linearity.length;
      const lines = [
        `calibration: ${flags.calibrate}, ${r.calibrationTokens} tokens`,
        "block  linearity  block_influence  angular(l -> l+1, last token)",
        ...stats.linearity.map((lin, l) =>
          `${String(l).padStart(5)}  ${lin.toFixed(6)}  ${stats.blockInfluence[l].toFixed(6).padStart(15)}  ${stats.angular[l][l + 1].toFixed(6).padStart(12)}`),
        `selected by ${selection.rule}: blocks ${selection.blocks.join(", ")}`,
        `  ${selection.scoreName}: ${selection.scores.map((s) => s.toFixed(6)).join(", ")}`,
      ];
      for (const f of r.fits) lines.push(`  block ${f.block} -> affine map, calibration R^2 ${f.r2.toFixed(6)}`);
      const kept = (r.config.linearity_prune as { kept_blocks: number[] }).kept_blocks;
      const verb = flags.replace === "remove" ? "removed" : "linear";
      lines.push(`${flags.out}: ${kept.length} of ${n} blocks (${selection.blocks.join(", ")} ${verb})`);
      process.stdout.write(lines.join("\n") + "\n");
      reportPeakMemory(r.streamed);
    });
}
