import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { parseNotebook, pyFloat, readNotebook, serializeNotebook, splitLinesPy, stringifyPy, writeNotebook } from "../../tools/notebook-harness/nbformat";

describe("nbformat v4 IO", () => {
  test("stringifyPy matches Python's json.dumps(sort_keys=True, indent=1, ensure_ascii=False) (fixture made by Python)", () => {
    const value = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { b: [], a: {}, z: "ünïcode ✓", ctl: "tab\there\u001b[0m", floats: [1e-5, 0.0001, 1.5, -2.5e-7, 1e16, 123456789.125, 0.1, 3.0e-5] },
      cells: [{ cell_type: "code", source: ["line 1\n", "line 2"], outputs: [], execution_count: 3, metadata: { tags: ["nbval-skip"] } }],
    };
    const expected = fs.readFileSync(path.join(__dirname, "fixtures", "json-python.txt"), "utf8");
    expect(stringifyPy(value) + "\n").toBe(expected);
  });

  test("pyFloat spells floats like Python's repr", () => {
    expect([1e-5, 0.0001, 2.5, 1e16, 1.5e300, -3e-7, 7].map(pyFloat)).toEqual(["1e-05", "0.0001", "2.5", "1e+16", "1.5e+300", "-3e-07", "7"]);
  });

  test("splitLinesPy is str.splitlines(keepends=True)", () => {
    expect(splitLinesPy("a\nb\r\nc\rd")).toEqual(["a\n", "b\r\n", "c\r", "d"]);
    expect(splitLinesPy("a\n")).toEqual(["a\n"]);
    expect(splitLinesPy("")).toEqual([]);
  });

  test("multi-line strings are joined in memory and split on disk; JSON MIME stays an object", () => {
    const json = JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: "markdown", id: "m", metadata: {}, source: ["# T\n", "text"] },
        {
          cell_type: "code",
          id: "c",
          metadata: {},
          execution_count: 1,
          source: "x\ny",
          outputs: [
            { output_type: "stream", name: "stdout", text: ["1\n", "2\n"] },
            { output_type: "display_data", metadata: {}, data: { "text/html": ["<b>\n", "</b>"], "application/vnd.plotly.v1+json": { data: [] } } },
          ],
        },
      ],
    });
    const nb = parseNotebook(json);
    expect(nb.cells[0].source).toBe("# T\ntext");
    const code = nb.cells[1];
    if (code.cell_type !== "code") throw new Error("expected a code cell");
    expect(code.outputs[0]).toMatchObject({ text: "1\n2\n" });
    expect(code.outputs[1]).toMatchObject({ data: { "text/html": "<b>\n</b>", "application/vnd.plotly.v1+json": { data: [] } } });
    const disk = JSON.parse(serializeNotebook(nb));
    expect(disk.cells[1].source).toEqual(["x\n", "y"]);
    expect(disk.cells[1].outputs[1].data["text/html"]).toEqual(["<b>\n", "</b>"]);
    expect(serializeNotebook(parseNotebook(serializeNotebook(nb)))).toBe(serializeNotebook(nb));
    expect(serializeNotebook(nb).endsWith("}\n")).toBe(true);
  });

  test("the committed smoke notebook is stored exactly as this writer (and Jupyter) write it", () => {
    const file = path.resolve(__dirname, "../../notebooks/00-smoke.ipynb");
    expect(serializeNotebook(readNotebook(file))).toBe(fs.readFileSync(file, "utf8"));
  });

  test("writeNotebook replaces the file atomically and leaves no temp file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbformat-"));
    const file = path.join(dir, "a.ipynb");
    fs.writeFileSync(file, "old");
    writeNotebook(file, parseNotebook('{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[]}'));
    expect(fs.readFileSync(file, "utf8")).toBe('{\n "cells": [],\n "metadata": {},\n "nbformat": 4,\n "nbformat_minor": 5\n}\n');
    expect(fs.readdirSync(dir)).toEqual(["a.ipynb"]);
    fs.rmSync(dir, { recursive: true });
  });

  test("bad input gives one-line errors naming the file and cell", () => {
    expect(() => parseNotebook("{", "x.ipynb")).toThrow(/^x\.ipynb: not valid JSON/);
    expect(() => parseNotebook('{"nbformat":3,"cells":[]}', "x.ipynb")).toThrow("x.ipynb: expected nbformat 4, got 3");
    expect(() => parseNotebook('{"nbformat":4,"cells":[{"cell_type":"weird","source":""}]}', "x.ipynb")).toThrow("x.ipynb: cell 1: unknown cell_type 'weird'");
    expect(() => parseNotebook('{"nbformat":4,"cells":[{"cell_type":"code","source":[1]}]}', "x.ipynb")).toThrow("x.ipynb: cell 1 source: expected a string or a list of strings");
    expect(() => readNotebook("/nonexistent/n.ipynb")).toThrow("/nonexistent/n.ipynb: cannot read (ENOENT)");
  });
});
