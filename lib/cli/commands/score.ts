import type { Command } from "commander";

/** `linearity score`: placeholder until its issue lands (replace this file). */
export function registerScore(program: Command): void {
  program.command("score").description("(not built yet)").action(() => {
    throw new Error("'score' is not built yet");
  });
}
