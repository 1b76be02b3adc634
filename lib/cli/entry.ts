/**
 * The executable's entry (bin/linearity.js): `linearity <command> ...` loads only that command's
 * module, so a short run does not pay for loading every command's libraries (tfjs, the models:
 * ~0.2 s of start-up). Anything else (`--help`, an unknown name) runs the full program (main.ts).
 */
import { type Register, newProgram, runProgram } from "./program";

/** Sub-command name -> its module's register function, loaded on demand. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  score: async () => (await import("./commands/score")).registerScore,
  inspect: async () => (await import("./commands/inspect")).registerInspect,
  export: async () => (await import("./commands/export")).registerExport,
  extract: async () => (await import("./commands/extract")).registerExtract,
  download: async () => (await import("./commands/download")).registerDownload,
  train: async () => (await import("./commands/train")).registerTrain,
  anisotropy: async () => (await import("./commands/anisotropy")).registerAnisotropy,
  "intrinsic-dim": async () => (await import("./commands/intrinsic-dim")).registerIntrinsicDim,
  lens: async () => (await import("./commands/lens")).registerLens,
  eval: async () => (await import("./commands/eval")).registerEval,
  prune: async () => (await import("./commands/prune")).registerPrune,
};

export async function run(argv: string[]): Promise<void> {
  const name = argv[2];
  const load = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) return (await import("./main")).main(argv);
  await runProgram(newProgram([await load()]), argv);
}
