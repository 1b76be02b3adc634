import type { Command } from "commander";

/** `linearity export`: placeholder until its issue lands (replace this file). */
export function registerExport(program: Command): void {
  program.command("export").description("(not built yet)").action(() => {
    throw new Error("'export' is not built yet");
  });
}
