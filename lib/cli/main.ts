/**
 * `linearity`: the command-line entry point. Each sub-command lives in its own file under
 * commands/ and only parses arguments before calling the library.
 *
 * Errors a user can cause (a missing file, a wrong shape) print one line, `linearity: <message>`,
 * and exit with status 1; set LINEARITY_DEBUG=1 to see the stack trace as well.
 */
import { Command, CommanderError } from "commander";
import { optionsAsFlags } from "./flags";
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

export function buildProgram(): Command {
  /** The sub-command being run (set just before its action). */
  let running: Command | undefined;
  const program = new Command("linearity")
    .description("How linear are the layers of a transformer? Scores, probes and extraction.")
    .showHelpAfterError()
    .exitOverride()
    // Remember which sub-command runs, so its errors can name its flags.
    .hook("preAction", (_program, command) => {
      running = command;
    });
  for (const register of [
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
  ]) {
    register(program);
  }
  // Library errors name library options ('maxTokens'); a CLI user reads the flag (--max-tokens).
  const parseAsync = program.parseAsync.bind(program);
  program.parseAsync = async (...args: Parameters<Command["parseAsync"]>) => {
    try {
      return await parseAsync(...args);
    } catch (err) {
      if (err instanceof Error && !(err instanceof CommanderError)) err.message = optionsAsFlags(err.message, running);
      throw err;
    }
  };
  return program;
}

function fail(err: unknown): never {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`linearity: ${msg.split("\n")[0]}\n`);
  if (process.env.LINEARITY_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(err.stack + "\n");
  }
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    fail(err);
  }
}
