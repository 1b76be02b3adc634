/**
 * The `linearity` program without its sub-commands: error handling shared by the full program
 * and the one-command program (main.ts).
 *
 * Errors a user can cause (a missing file, a wrong shape) print one line, `linearity: <message>`,
 * and exit with status 1; set LINEARITY_DEBUG=1 to see the stack trace as well.
 */
import { Command, CommanderError } from "commander";
import { optionsAsFlags } from "./flags";
import { explainOutOfMemory } from "./memory";

/** Adds one sub-command to the program. */
export type Register = (program: Command) => void;

/** The program with the given sub-commands. */
export function newProgram(registers: readonly Register[]): Command {
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
  for (const register of registers) register(program);
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
  // The wasm runtime's "Aborted()" and "memory access out of bounds" become one readable line.
  const msg = explainOutOfMemory(err instanceof Error ? err.message : String(err));
  process.stderr.write(`linearity: ${msg.split("\n")[0]}\n`);
  if (process.env.LINEARITY_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(err.stack + "\n");
  }
  process.exit(1);
}

/** Parse argv and run; user errors exit as described above. */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    fail(err);
  }
}
