import type { Command } from "commander";

/** `linearity inspect`: placeholder until its issue lands (replace this file). */
export function registerInspect(program: Command): void {
  program.command("inspect").description("(not built yet)").action(() => {
    throw new Error("'inspect' is not built yet");
  });
}
