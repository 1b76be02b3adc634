/**
 * lib/cli/main.ts: COMMANDS is the one table of sub-commands, and the program built from it
 * has every command of commands/ under its own name.
 */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { buildProgram, COMMANDS } from "../../lib/cli/main";
import { newProgram } from "../../lib/cli/program";

describe("the command table", () => {
  test("every module in lib/cli/commands has one entry, named after its file", () => {
    const files = fs.readdirSync(path.join(__dirname, "../../lib/cli/commands")).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(files.sort());
  });

  test("each entry registers the command of its name, alone", async () => {
    for (const c of COMMANDS) expect(newProgram([await c.load()]).commands.map((s) => s.name())).toEqual([c.name]);
  });

  test("the full program lists the table in order", async () => {
    expect((await buildProgram()).commands.map((s) => s.name())).toEqual(COMMANDS.map((c) => c.name));
  });
});
