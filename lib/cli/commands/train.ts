import type { Command } from "commander";

/** `linearity train`: placeholder until its issue lands (replace this file). */
export function registerTrain(program: Command): void {
  program.command("train").description("(not built yet)").action(() => {
    throw new Error("'train' is not built yet");
  });
}
