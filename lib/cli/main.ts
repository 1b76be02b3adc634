/**
 * `linearity`: the command-line program. COMMANDS is the one table of sub-commands; each lives in
 * its own file under commands/ and only parses arguments before calling the library. A module
 * is loaded only when needed: `linearity <command> ...` loads that command alone, so a short run
 * does not pay for loading every command's libraries (tfjs, the models: ~0.2 s of start-up);
 * anything else (`--help`, an unknown name) builds the full program.
 */
import type { Command } from "commander";
import { type Register, newProgram, runProgram } from "./program";

/** One sub-command: its name on the command line and its module's register function. */
export interface CommandEntry {
  readonly name: string;
  readonly load: () => Promise<Register>;
}

// import() rather than a static import: a module is loaded when its command is, not at start-up.
/** Every sub-command, in the order `linearity --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: "score", load: async () => (await import("./commands/score")).registerScore },
  { name: "moments", load: async () => (await import("./commands/moments")).registerMoments },
  { name: "merge", load: async () => (await import("./commands/merge")).registerMerge },
  { name: "inspect", load: async () => (await import("./commands/inspect")).registerInspect },
  { name: "export", load: async () => (await import("./commands/export")).registerExport },
  { name: "extract", load: async () => (await import("./commands/extract")).registerExtract },
  { name: "download", load: async () => (await import("./commands/download")).registerDownload },
  { name: "train", load: async () => (await import("./commands/train")).registerTrain },
  { name: "anisotropy", load: async () => (await import("./commands/anisotropy")).registerAnisotropy },
  { name: "intrinsic-dim", load: async () => (await import("./commands/intrinsic-dim")).registerIntrinsicDim },
  { name: "lens", load: async () => (await import("./commands/lens")).registerLens },
  { name: "eval", load: async () => (await import("./commands/eval")).registerEval },
  { name: "prune", load: async () => (await import("./commands/prune")).registerPrune },
];

/** The program with every sub-command. */
export async function buildProgram(): Promise<Command> {
  return newProgram(await Promise.all(COMMANDS.map((c) => c.load())));
}

/** Runs `linearity` on argv (process.argv form): the named command alone, else the full program. */
export async function main(argv: string[]): Promise<void> {
  const entry = COMMANDS.find((c) => c.name === argv[2]);
  await runProgram(entry ? newProgram([await entry.load()]) : await buildProgram(), argv);
}
