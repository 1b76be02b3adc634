/**
 * Whole-notebook execution (what `npm start` does) and the HTML report.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { executeNotebook, runFailure } from "../../tools/notebook-harness/execute";
import { Notebook, parseNotebook } from "../../tools/notebook-harness/nbformat";
import { renderReport } from "../../tools/notebook-harness/report";
import { figureBundle } from "../../lib/plot/bundle";
import { resetPlotSession } from "../../lib/plot/session";

const notebook = (cells: { source: string; tags?: string[]; markdown?: boolean }[]): Notebook =>
  parseNotebook(
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: cells.map((c, i) =>
        c.markdown
          ? { cell_type: "markdown", id: `m${i}`, metadata: {}, source: c.source }
          : { cell_type: "code", id: `c${i}`, metadata: c.tags ? { tags: c.tags } : {}, source: c.source, outputs: [{ output_type: "stream", name: "stdout", text: "stale\n" }], execution_count: 7 },
      ),
    }),
  );

describe("executeNotebook", () => {
  test("fresh outputs and execution counts 1..n; raises-exception cells may raise; the first unexpected failure stops the run", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "execute-test-"));
    try {
      const file = path.join(dir, "n.ipynb");
      const nb = notebook([
        { source: "# Title", markdown: true },
        { source: "const x = 21 * 2;\nx" },
        { source: 'throw new Error("expected")', tags: ["raises-exception"] },
        { source: "console.log(x + 1)", tags: ["nbval-skip"] },
        { source: 'throw new Error("unexpected")' },
        { source: "console.log('never runs')" },
      ]);
      const result = await executeNotebook(file, nb);
      const code = result.notebook.cells.filter((c) => c.cell_type === "code");
      expect(code.map((c) => (c.cell_type === "code" ? c.execution_count : -1))).toEqual([1, 2, 3, 4, 7]);
      expect(code[0].cell_type === "code" && code[0].outputs).toEqual([{ output_type: "stream", name: "stdout", text: "42\n" }]);
      expect(code[2].cell_type === "code" && code[2].outputs).toEqual([{ output_type: "stream", name: "stdout", text: "43\n" }]); // skip-tagged cells still run
      expect(result.failure?.number).toBe(4); // numbered among code cells, as nbval does
      expect(result.failure?.message).toMatch(/^raised an exception:[\s\S]*Error: unexpected/);
      expect(nb.cells[1].cell_type === "code" && nb.cells[1].execution_count).toBe(7); // the input is not modified

      const ok = await executeNotebook(file, notebook([{ source: "1 + 1" }, { source: "throw 1", tags: ["raises-exception"] }]));
      expect(ok.failure).toBeUndefined();
      expect(ok.notebook.metadata.kernelspec).toEqual({ display_name: "TypeScript", language: "typescript", name: "tslab" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("stored outputs carry no machine paths", () => {
  test("paths into the project become relative to the notebook's folder, in tracebacks and streams", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "paths-test-"));
    try {
      fs.writeFileSync(path.join(root, "package.json"), "{}");
      fs.mkdirSync(path.join(root, "lib"));
      fs.mkdirSync(path.join(root, "nb"));
      fs.writeFileSync(path.join(root, "lib", "m.js"), 'module.exports = () => { throw new Error("deep"); };\n');
      const nb = notebook([{ source: `console.log(require("path").resolve("../lib/m.js"));` }, { source: `require("../lib/m.js")();`, tags: ["raises-exception"] }]);
      const result = await executeNotebook(path.join(root, "nb", "n.ipynb"), nb);
      expect(result.failure).toBeUndefined();
      const stored = JSON.stringify(result.notebook.cells);
      expect(stored).not.toContain(root);
      expect(stored).not.toContain(fs.realpathSync(root));
      const [first, second] = result.notebook.cells.map((c) => (c.cell_type === "code" ? c.outputs : []));
      expect(first).toEqual([{ output_type: "stream", name: "stdout", text: "../lib/m.js\n" }]);
      expect(second[0]).toMatchObject({ output_type: "error", ename: "Error", evalue: "deep" });
      expect((second[0] as { traceback: string[] }).traceback.join("\n")).toContain("(../lib/m.js:1:");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("runFailure", () => {
  const cell = (tags?: string[]) => notebook([{ source: "x", tags }]).cells[0] as never;
  const run = (status: "ok" | "error" | "timeout" | "abort") => ({ number: 1, status, outputs: [{ output_type: "stream" as const, name: "stderr" as const, text: "E\n" }], executionCount: 1, elapsedMs: 1 });
  test("names each way a run fails", () => {
    expect(runFailure(run("ok"), cell(), 1000)).toBeUndefined();
    expect(runFailure(run("error"), cell(["raises-exception"]), 1000)).toBeUndefined();
    expect(runFailure(run("ok"), cell(["raises-exception"]), 1000)).toBe("is tagged raises-exception but did not raise");
    expect(runFailure(run("error"), cell(), 1000)).toBe("raised an exception:\nE\n");
    expect(runFailure(run("timeout"), cell(), 3000)).toBe("timed out after 3 s");
    expect(runFailure(run("abort"), cell(), 1000)).toBe("aborted by the kernel");
  });
});

describe("renderReport", () => {
  test("markdown, code with prompts, escaped text outputs, HTML outputs as is", () => {
    const nb = notebook([{ source: "# Heading *x*", markdown: true }, { source: "a < b" }]);
    const html = renderReport(nb, "n.ipynb");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain("<h1>Heading <em>x</em></h1>");
    expect(html).toContain("In [7]:");
    expect(html).toContain("a &lt; b");
    expect(html).toContain("<pre>stale\n</pre>");
  });

  test("plotly.js is added in <head> only when no output embeds it", () => {
    resetPlotSession();
    const withLib = figureBundle({ data: [{ type: "bar", y: [1] }], layout: {} });
    const withoutLib = figureBundle({ data: [{ type: "bar", y: [2] }], layout: {} });
    const nb = notebook([{ source: "plot" }]);
    const cell = nb.cells[0];
    if (cell.cell_type !== "code") throw new Error("code cell expected");
    cell.outputs = [{ output_type: "display_data", data: withoutLib, metadata: {} }];
    const head = (h: string) => h.slice(0, h.indexOf("</head>"));
    expect(head(renderReport(nb, "n"))).toContain("function (define, exports, module)");
    cell.outputs = [{ output_type: "display_data", data: withLib, metadata: {} }, { output_type: "display_data", data: withoutLib, metadata: {} }];
    expect(head(renderReport(nb, "n"))).not.toContain("function (define, exports, module)");
    // A bundle with only the Plotly MIME type (e.g. from another tool) is drawn too.
    cell.outputs = [{ output_type: "display_data", data: { "application/vnd.plotly.v1+json": withoutLib["application/vnd.plotly.v1+json"] }, metadata: {} }];
    expect(renderReport(nb, "n")).toContain('<div id="report-plot-');
  });
});
