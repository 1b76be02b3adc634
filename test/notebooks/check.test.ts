import { describe, expect, test } from "vitest";
import { cellOptions } from "../../tools/notebook-harness/markers";
import type { CodeCell, Output } from "../../tools/notebook-harness/nbformat";
import { CellRun, checkCell, firstLine } from "../../tools/notebook-harness/run";
import { parseSanitize } from "../../tools/notebook-harness/sanitize";

const rules = parseSanitize("regex: (\\d+\\.\\d{2})\\d+\nreplace: \\1\n");
const stdout = (text: string): Output => ({ output_type: "stream", name: "stdout", text });
const stderr = (text: string): Output => ({ output_type: "stream", name: "stderr", text });
const stored = (outputs: Output[], tags?: string[], source = "x", count: number | null = 1): CodeCell => ({ cell_type: "code", source, metadata: tags ? { tags } : {}, outputs, execution_count: count });
const run = (status: CellRun["status"], outputs: Output[]): CellRun => ({ number: 2, status, outputs, executionCount: 1, elapsedMs: 1 });
const verdict = (r: CellRun, cell: CodeCell, lax = false) => checkCell(r, cell, cellOptions(cell, lax), rules, 5000);

describe("checkCell: the per-cell verdict", () => {
  test("same output passes; a changed output fails", () => {
    expect(verdict(run("ok", [stdout("0.97\n")]), stored([stdout("0.97\n")]))).toBeUndefined();
    expect(verdict(run("ok", [stdout("0.52\n")]), stored([stdout("0.97\n")]))).toMatch(/Cell outputs differ/);
  });

  test("a float difference removed by the sanitize rules passes", () => {
    expect(verdict(run("ok", [stdout("0.97001\n")]), stored([stdout("0.97999\n")]))).toBeUndefined();
  });

  test("an unexpected exception fails and shows the stderr", () => {
    const v = verdict(run("error", [stderr("Error: boom\n")]), stored([]));
    expect(v).toMatch(/^Cell execution caused an exception:\nError: boom/);
  });

  test("a type error (tslab reports it as status error) fails even in lax mode", () => {
    expect(verdict(run("error", [stderr("1:7 - Type 'string' is not assignable to type 'number'.\n")]), stored([]), true)).toMatch(/exception/);
  });

  test("raises-exception: raising passes (output still compared), not raising fails", () => {
    const cell = stored([stderr("Error: boom\n")], ["raises-exception"]);
    expect(verdict(run("error", [stderr("Error: boom\n")]), cell)).toBeUndefined();
    expect(verdict(run("error", [stderr("Error: other\n")]), cell)).toMatch(/differ/);
    expect(verdict(run("ok", []), cell)).toMatch(/marked to raise an exception .* but ran without error/);
    expect(verdict(run("ok", []), stored([], [], "// NBVAL_RAISES_EXCEPTION\nx"))).toMatch(/marked to raise/);
  });

  test("skip: a skipped cell passes", () => {
    expect(verdict(run("skipped", []), stored([stdout("anything")], ["nbval-skip"]))).toBeUndefined();
  });

  test("ignore-output: differences pass, exceptions still fail", () => {
    const cell = stored([stdout("12:00\n")], ["nbval-ignore-output"]);
    expect(verdict(run("ok", [stdout("12:01\n")]), cell)).toBeUndefined();
    expect(verdict(run("error", []), cell)).toMatch(/exception/);
  });

  test("lax mode compares only cells marked check-output", () => {
    expect(verdict(run("ok", [stdout("b")]), stored([stdout("a")]), true)).toBeUndefined();
    expect(verdict(run("ok", [stdout("b")]), stored([stdout("a")], ["nbval-check-output"]), true)).toMatch(/differ/);
  });

  test("unrun reference cells: not compared, but outputs without an execution count are an error", () => {
    expect(verdict(run("ok", [stdout("b")]), stored([], undefined, "x", null))).toBeUndefined();
    expect(verdict(run("ok", [stdout("b")]), stored([stdout("a")], undefined, "x", null))).toMatch(/Unrun reference cell has outputs/);
  });

  test("timeouts and aborted cells fail", () => {
    expect(verdict(run("timeout", []), stored([]))).toMatch(/Timeout of 5 s exceeded/);
    expect(verdict(run("abort", []), stored([]))).toMatch(/aborted/);
  });

  test("test names use the first non-marker line", () => {
    expect(firstLine("// NBVAL_SKIP\n\n  const x = 1;\nmore")).toBe("const x = 1;");
    expect(firstLine("a".repeat(100)).length).toBe(60);
  });
});
