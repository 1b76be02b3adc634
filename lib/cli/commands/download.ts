import type { Command } from "commander";

/** `linearity download`: placeholder until its issue lands (replace this file). */
export function registerDownload(program: Command): void {
  program.command("download").description("(not built yet)").action(() => {
    throw new Error("'download' is not built yet");
  });
}
