/**
 * `linearity`: the command-line program with every sub-command. Each sub-command lives in its
 * own file under commands/ and only parses arguments before calling the library. The executable
 * (bin/linearity.js) goes through entry.ts, which loads only the sub-command it runs.
 */
import type { Command } from "commander";
import { newProgram, runProgram } from "./program";
import { registerScore } from "./commands/score";
import { registerInspect } from "./commands/inspect";
import { registerExport } from "./commands/export";
import { registerExtract } from "./commands/extract";
import { registerDownload } from "./commands/download";
import { registerTrain } from "./commands/train";
import { registerAnisotropy } from "./commands/anisotropy";
import { registerIntrinsicDim } from "./commands/intrinsic-dim";
import { registerLens } from "./commands/lens";
import { registerEval } from "./commands/eval";
import { registerPrune } from "./commands/prune";

/** The program with every sub-command, in the order `linearity --help` lists them. */
export function buildProgram(): Command {
  return newProgram([
    registerScore,
    registerInspect,
    registerExport,
    registerExtract,
    registerDownload,
    registerTrain,
    registerAnisotropy,
    registerIntrinsicDim,
    registerLens,
    registerEval,
    registerPrune,
  ]);
}

export async function main(argv: string[]): Promise<void> {
  await runProgram(buildProgram(), argv);
}
