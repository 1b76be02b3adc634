import * as path from "path";
import { describe, expect, test } from "vitest";
import { coalesceStreams, compareOutputs, deepEqual, textDiff } from "../../tools/notebook-harness/compare";
import type { Output } from "../../tools/notebook-harness/nbformat";
import { loadSanitize } from "../../tools/notebook-harness/sanitize";

const rules = loadSanitize(path.resolve(__dirname, "../../notebooks/sanitize.cfg"));
const out = (text: string, name: "stdout" | "stderr" = "stdout"): Output => ({ output_type: "stream", name, text });
const disp = (data: Record<string, unknown>, metadata: Record<string, unknown> = {}): Output => ({ output_type: "display_data", data, metadata });

describe("coalesceStreams (nbval)", () => {
  test("merges streams of the same name into the first, keeps other outputs in place", () => {
    const merged = coalesceStreams([out("a"), disp({ "text/plain": "x" }), out("b"), out("e", "stderr")]);
    expect(merged).toEqual([out("ab"), disp({ "text/plain": "x" }), out("e", "stderr")]);
  });

  test("resolves backspaces and carriage returns", () => {
    expect(coalesceStreams([out("abc\b\bX\n")])).toEqual([out("aX\n")]);
    expect(coalesceStreams([out("10%\r50%\r100%\ndone\r\n")])).toEqual([out("100%\ndone\r\n")]);
  });
});

describe("compareOutputs (nbval rules)", () => {
  test("identical outputs pass", () => {
    const o = [out("1\n"), disp({ "text/html": "<b>x</b>", "text/plain": "x" })];
    expect(compareOutputs(o, structuredClone(o), rules).ok).toBe(true);
  });

  test("a changed output fails and shows both versions", () => {
    const r = compareOutputs([out("score 0.52\n")], [out("score 0.97\n")], rules);
    expect(r.ok).toBe(false);
    expect(r.message).toContain('Cell outputs differ in "stdout"');
    expect(r.message).toContain("- score 0.97");
    expect(r.message).toContain("+ score 0.52");
  });

  test("a float difference beyond the 4th decimal passes after sanitizing; without the rules it fails", () => {
    expect(compareOutputs([out("0.972134\n")], [out("0.972139\n")], rules).ok).toBe(true);
    expect(compareOutputs([out("0.972134\n")], [out("0.972139\n")], []).ok).toBe(false);
  });

  test("missing and unexpected output kinds fail", () => {
    expect(compareOutputs([], [out("x")], rules)).toMatchObject({ ok: false, message: expect.stringContaining("Missing output fields from running code: stdout") });
    expect(compareOutputs([out("x"), out("warn", "stderr")], [out("x")], rules)).toMatchObject({ ok: false, message: expect.stringContaining("Unexpected output fields from running code: stderr") });
    expect(compareOutputs([disp({ "text/html": "h" })], [disp({ "text/html": "h", "text/plain": "p" })], rules).message).toContain("Missing output fields from running code: text/plain");
  });

  test("a different number of outputs of one MIME type fails", () => {
    const r = compareOutputs([disp({ "text/html": "a" }), disp({ "text/html": "a" })], [disp({ "text/html": "a" })], rules);
    expect(r.ok).toBe(false);
    expect(r.message).toContain('dissimilar number of outputs for key "text/html"');
  });

  test("order matters only within a key (nbval flattens by key)", () => {
    expect(compareOutputs([disp({ "text/html": "h" }), out("s")], [out("s"), disp({ "text/html": "h" })], rules).ok).toBe(true);
    expect(compareOutputs([disp({ "text/html": "b" }), disp({ "text/html": "a" })], [disp({ "text/html": "a" }), disp({ "text/html": "b" })], rules).ok).toBe(false);
  });

  test("streams split differently compare equal (coalesced first)", () => {
    expect(compareOutputs([out("a"), out("b\n")], [out("ab\n")], rules).ok).toBe(true);
  });

  test("metadata, execution counts and PNG/JPEG images are not compared", () => {
    const fresh: Output[] = [{ output_type: "execute_result", execution_count: 9, data: { "text/plain": "1", "image/png": "AAAA" }, metadata: { a: 1 } }];
    const stored: Output[] = [{ output_type: "execute_result", execution_count: 2, data: { "text/plain": "1", "image/png": "BBBB" }, metadata: {} }];
    expect(compareOutputs(fresh, stored, rules).ok).toBe(true);
    // The image/png written back by JupyterLab's Plotly renderer does not count as "missing".
    expect(compareOutputs([disp({ "text/plain": "1" })], [disp({ "text/plain": "1", "image/png": "iVBOR" })], rules).ok).toBe(true);
  });

  test("JSON MIME values compare as JSON: key order is irrelevant, values are not sanitized", () => {
    const a = disp({ "application/vnd.plotly.v1+json": { data: [{ y: [0.97213] }], layout: { a: 1, b: 2 } } });
    const b = disp({ "application/vnd.plotly.v1+json": { layout: { b: 2, a: 1 }, data: [{ y: [0.97213] }] } });
    const c = disp({ "application/vnd.plotly.v1+json": { layout: { b: 2, a: 1 }, data: [{ y: [0.97214] }] } });
    expect(compareOutputs([a], [b], rules).ok).toBe(true);
    const r = compareOutputs([a], [c], rules);
    expect(r.ok).toBe(false);
    expect(r.message).toContain("application/vnd.plotly.v1+json");
    // The diff shows only the changed value, not the (irrelevant) key order.
    expect(r.message).toContain("-     0.97214\n+     0.97213");
    expect(r.message).not.toContain('"layout"');
  });

  test("error outputs: ename and evalue are compared, tracebacks are not", () => {
    const e = (evalue: string, tb: string[]): Output => ({ output_type: "error", ename: "Error", evalue, traceback: tb });
    expect(compareOutputs([e("boom", ["a"])], [e("boom", ["b"])], rules).ok).toBe(true);
    expect(compareOutputs([e("boom", [])], [e("bang", [])], rules).ok).toBe(false);
  });
});

describe("helpers", () => {
  test("deepEqual is Python == on JSON", () => {
    expect(deepEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
  });

  test("textDiff elides equal lines and clips long lines around the first difference", () => {
    const d = textDiff("a\nb\nc\nd", "a\nb\nX\nd");
    expect(d).toBe("  … 2 equal lines\n- c\n+ X\n  … 1 equal line");
    const long = "x".repeat(1000);
    const clipped = textDiff(long + "A", long + "B");
    expect(clipped.length).toBeLessThan(700);
    expect(clipped).toContain("[col 920]");
  });
});
