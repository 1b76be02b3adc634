/**
 * The kernel client and the harness against a real tslab kernel (one kernel for the file).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { KernelClient } from "../../tools/notebook-harness/kernel";
import { cellOptions } from "../../tools/notebook-harness/markers";
import type { CodeCell } from "../../tools/notebook-harness/nbformat";
import { checkCell, NotebookSession } from "../../tools/notebook-harness/run";
import { decodeMessage, encodeMessage, newMessage } from "../../tools/notebook-harness/wire";
import { stripAnsi } from "../../tools/notebook-harness/ansi";

// node_modules/tslab carries the colour part of patches/tslab+1.0.22.patch (an install patched
// before it was added lacks it until `npx patch-package` runs again).
const colourPatched = fs.readFileSync(path.join(__dirname, "../../node_modules/tslab/dist/jupyter.js"), "utf8").includes('const RED = "\\x1b[0;31m"');
if (!colourPatched) console.warn("kernel.test: node_modules/tslab predates the traceback colour patch: run `npx patch-package`; skipping the colour check");

describe("wire format", () => {
  test("messages are signed, and a tampered message is rejected", () => {
    const m = newMessage("session", "execute_request", { code: "1" });
    const frames = encodeMessage("key", m).map((f) => Buffer.from(f));
    expect(decodeMessage("key", [Buffer.from("identity"), ...frames]).content).toEqual({ code: "1" });
    frames[5] = Buffer.from('{"code":"2"}');
    expect(() => decodeMessage("key", frames)).toThrow("invalid message: bad HMAC signature");
    expect(() => decodeMessage("key", frames.slice(1))).toThrow("invalid message: no <IDS|MSG> delimiter");
  });
});

describe("tslab kernel", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kernel-test-"));
  let session: NotebookSession;
  let kernel: KernelClient;
  const cell = (source: string, outputs: CodeCell["outputs"] = [], tags?: string[]): CodeCell => ({ cell_type: "code", source, metadata: tags ? { tags } : {}, outputs, execution_count: 1 });

  beforeAll(async () => {
    session = await NotebookSession.start(path.join(dir, "t.ipynb"));
    kernel = session.kernel;
  }, 90_000);
  afterAll(async () => {
    await session?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("kernel_info_reply carries status 'ok' (patches/tslab+1.0.22.patch is applied)", () => {
    expect(kernel.info.status).toBe("ok");
    expect(kernel.info.implementation).toBe("tslab");
  });

  test("a cell's value arrives as stdout and execution counts increase", async () => {
    const a = await kernel.execute("const a: number = 20 + 22;\na");
    expect(a.status).toBe("ok");
    expect(a.iopub.map((m) => m.content)).toEqual([{ name: "stdout", text: "42\n" }]);
    const b = await kernel.execute("a + 1");
    expect(b.executionCount).toBe((a.executionCount ?? 0) + 1);
  });

  test("the kernel runs in the notebook's folder", async () => {
    const r = await kernel.execute("process.cwd()");
    expect(r.iopub.map((m) => (m.content as { text?: string }).text).join("")).toBe(`${fs.realpathSync(dir)}\n`);
  });

  test("harness: matching stored output passes, a changed stored output fails with a diff", async () => {
    const good = cell('console.log("linearity 0.97")', [{ output_type: "stream", name: "stdout", text: "linearity 0.97\n" }]);
    const bad = cell('console.log("linearity 0.97")', [{ output_type: "stream", name: "stdout", text: "linearity 0.52\n" }]);
    expect(checkCell(await session.runCell(good, 1), good, cellOptions(good, false), [])).toBeUndefined();
    expect(checkCell(await session.runCell(bad, 2), bad, cellOptions(bad, false), [])).toContain("- linearity 0.52\n+ linearity 0.97");
  });

  test("an exception is published as an iopub error message (ename, evalue, traceback); the next cell still runs", async () => {
    const boom = cell('throw new RangeError("boom")');
    const r = await session.runCell(boom, 3);
    expect(r.status).toBe("error");
    const errors = r.outputs.filter((o) => o.output_type === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ ename: "RangeError", evalue: "boom" });
    const lines = (errors[0] as { traceback: string[] }).traceback;
    // The error line is coloured as IPython colours it (red name, then reset): the classic
    // Notebook shows an error in red only through these codes.
    if (colourPatched) {
      expect(lines[0]).toBe("\x1b[0;31mRangeError\x1b[0m: boom");
      // Every error line is coloured (Node may repeat it below the failing source line and caret).
      expect(lines.filter((l) => l.startsWith("RangeError"))).toEqual([]);
    }
    const traceback = stripAnsi(lines.join("\n"));
    expect(traceback).toContain("RangeError: boom");
    // The kernel's own frames (node:vm, tslab/dist) are cut; nothing goes to stderr twice.
    expect(traceback).not.toMatch(/node:vm|tslab[\\/]dist/);
    expect(r.outputs.some((o) => o.output_type === "stream")).toBe(false);
    expect(checkCell(r, boom, cellOptions(boom, false), [])).toMatch(/Cell execution caused an exception:[\s\S]*RangeError: boom/);
    const tagged = cell('throw new RangeError("boom")', r.outputs, ["raises-exception"]);
    expect(checkCell(await session.runCell(tagged, 4), tagged, cellOptions(tagged, false), [])).toBeUndefined();
    const after = await kernel.execute("1 + 1");
    expect(after.status).toBe("ok");
  });

  test("Run All: cells queued behind a failing cell run when it was sent with stop_on_error=false (raises-exception), are aborted otherwise", async () => {
    // Front ends send every cell at once and stop_on_error=false only for raises-exception cells.
    const tagged = await Promise.all([kernel.execute('throw new Error("expected")', { stopOnError: false }), kernel.execute("3 * 3", { stopOnError: true })]);
    expect(tagged.map((r) => r.status)).toEqual(["error", "ok"]);
    expect(tagged[1].iopub.map((m) => m.content)).toEqual([{ name: "stdout", text: "9\n" }]);
    const untagged = await Promise.all([kernel.execute('throw new Error("unexpected")', { stopOnError: true }), kernel.execute("4 * 4", { stopOnError: true })]);
    expect(untagged.map((r) => r.status)).toEqual(["error", "abort"]);
  });

  test("a thrown non-Error is an 'Uncaught' error, its line coloured too", async () => {
    const r = await kernel.execute("throw 42;");
    const error = r.iopub.find((m) => m.header.msg_type === "error")?.content as { ename: string; evalue: string; traceback: string[] };
    expect(error).toMatchObject({ ename: "Uncaught", evalue: "42" });
    expect(stripAnsi(error.traceback.join("\n"))).toBe("Uncaught 42");
    if (colourPatched) expect(error.traceback).toEqual(["\x1b[0;31mUncaught\x1b[0m 42"]);
  });

  test("a type error is an error message with tslab's diagnostic", async () => {
    const r = await kernel.execute('const s: number = "x";');
    expect(r.status).toBe("error");
    const error = r.iopub.find((m) => m.header.msg_type === "error")?.content as { ename: string; evalue: string };
    expect(error.ename).toBe("TSError");
    if (colourPatched) expect((error as unknown as { traceback: string[] }).traceback[0]).toBe("\x1b[0;31mTSError\x1b[0m: the cell does not compile");
    expect(error.evalue).toContain("Type 'string' is not assignable to type 'number'");
  });

  test("a cell past its timeout is interrupted and reported; the kernel stays usable", async () => {
    const r = await kernel.execute("await new Promise((resolve) => setTimeout(resolve, 20000));", { timeoutMs: 1500 });
    expect(r.status).toBe("timeout");
    expect(r.elapsedMs).toBeLessThan(15000);
    const next = await kernel.execute("2 + 2");
    expect(next.iopub.map((m) => m.content)).toEqual([{ name: "stdout", text: "4\n" }]);
  }, 30_000);

  test("display helpers reach the kernel's display channel as one multi-MIME bundle", async () => {
    const lib = path.resolve(__dirname, "../../dist/lib/plot/index.js");
    const r = await kernel.execute(`const plot = require(${JSON.stringify(lib)});\nplot.showTable([{ a: 1.5 }]);\nplot.inKernel()`);
    expect(r.status).toBe("ok");
    const display = r.iopub.find((m) => m.header.msg_type === "display_data");
    expect(Object.keys((display?.content as { data: object }).data).sort()).toEqual(["text/html", "text/plain"]);
    expect(r.iopub.some((m) => (m.content as { text?: string }).text === "true\n")).toBe(true);
  });

  test("a page reload (the front end reconnects: kernel_info) makes the next plot embed plotly.js again", async () => {
    const lib = path.resolve(__dirname, "../../dist/lib/plot/index.js");
    await kernel.execute(`const plots = require(${JSON.stringify(lib)}); plots.resetPlotSession();`);
    const plot = async () => {
      const r = await kernel.execute(`plots.lineChart({ series: [{ name: "a", y: [1, 2] }] })`);
      const html = ((r.iopub.find((m) => m.header.msg_type === "display_data")?.content as { data: Record<string, string> }).data)["text/html"];
      return html.includes("function (define, exports, module)");
    };
    expect([await plot(), await plot()]).toEqual([true, false]);
    await kernel.kernelInfo();
    expect([await plot(), await plot()]).toEqual([true, false]);
  });
});

describe("kernel start-up errors", () => {
  test("a missing working directory is reported before spawning", async () => {
    await expect(KernelClient.start({ cwd: "/nonexistent-dir-for-test" })).rejects.toThrow("tslab kernel: working directory /nonexistent-dir-for-test does not exist");
  });

  test("a kernel that does not answer within the start-up timeout is reported and stopped", async () => {
    await expect(KernelClient.start({ cwd: os.tmpdir(), startupTimeoutMs: 1 })).rejects.toThrow(/^tslab kernel did not start within 0 s/);
  }, 20_000);
});
