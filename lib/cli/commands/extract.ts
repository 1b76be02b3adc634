import type { Command } from "commander";

/** `linearity extract`: placeholder until its issue lands (replace this file). */
export function registerExtract(program: Command): void {
  program.command("extract").description("(not built yet)").action(() => {
    throw new Error("'extract' is not built yet");
  });
}
