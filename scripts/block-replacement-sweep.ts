/**
 * The data of notebooks/06-block-replacement.ipynb (lib/interventions/sweep.ts): held-out loss of
 * a model with K = 1..n_layers-1 blocks removed or replaced by fitted affine maps, for each
 * selection rule, plus the per-block statistics the rules read.
 *
 *   npx tsx scripts/block-replacement-sweep.ts [--model data-samples/model]
 *       [--out data-samples/block-replacement.json] [--calibrate-tokens 8192] [--eval-tokens 8192] [--seq-len 128]
 *       [--memory SIZE]
 *
 * --memory: the model's memory budget, as for `linearity eval` (default: 3/4 of the memory
 * available; larger models stream their weights block by block, docs/models.md "Large models").
 *
 * Calibration on corpus:brown:train, evaluation on corpus:brown:heldout (never the same tokens).
 */
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { writeFileAtomic } from "../lib/io/atomic";
import { blockReplacementSweep } from "../lib/interventions/sweep";
import { explainOutOfMemory, reportPeakMemory } from "../lib/cli/memory";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  await initBackend();
  const out = flag("--out", "data-samples/block-replacement.json");
  const result = await blockReplacementSweep({
    model: flag("--model", "data-samples/model"),
    calibrateTokens: Number(flag("--calibrate-tokens", "8192")),
    evalTokens: Number(flag("--eval-tokens", "8192")),
    seqLen: Number(flag("--seq-len", "128")),
    memory: process.argv.includes("--memory") ? flag("--memory", "") : undefined,
    onLog: (m) => process.stderr.write(`${m}\n`),
  });
  writeFileAtomic(out, JSON.stringify(result, null, 1) + "\n");
  process.stderr.write(`wrote ${path.resolve(out)} (${result.seconds} s)\n`);
  reportPeakMemory();
}

main().catch((err) => {
  process.stderr.write(`block-replacement-sweep: ${explainOutOfMemory(err instanceof Error ? err.message : String(err))}\n`);
  process.exit(1);
});
