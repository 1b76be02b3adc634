import { describe, expect, test } from "vitest";
import { applyMessages, DisplayRegistry } from "../../tools/notebook-harness/outputs";
import type { JupyterMessage } from "../../tools/notebook-harness/wire";

const msg = (msg_type: string, content: Record<string, unknown>): JupyterMessage =>
  ({ header: { msg_type, msg_id: "m", session: "s", username: "u", date: "", version: "5.3" }, parent_header: {}, metadata: {}, content, buffers: [] });

describe("iopub messages to outputs", () => {
  test("adjacent streams of one name are joined; other messages are ignored", () => {
    const outs = applyMessages([msg("stream", { name: "stdout", text: "a" }), msg("stream", { name: "stdout", text: "b" }), msg("execute_input", {}), msg("stream", { name: "stderr", text: "e" }), msg("stream", { name: "stdout", text: "c" })]);
    expect(outs).toEqual([
      { output_type: "stream", name: "stdout", text: "ab" },
      { output_type: "stream", name: "stderr", text: "e" },
      { output_type: "stream", name: "stdout", text: "c" },
    ]);
  });

  test("update_display_data replaces the data of the output with that display_id, also in an earlier cell", () => {
    const displays: DisplayRegistry = new Map();
    const first = applyMessages([msg("display_data", { data: { "text/plain": "working" }, metadata: {}, transient: { display_id: "d1" } })], [], displays);
    const second = applyMessages([msg("update_display_data", { data: { "text/plain": "done" }, metadata: {}, transient: { display_id: "d1" } })], [], displays);
    expect(first).toEqual([{ output_type: "display_data", data: { "text/plain": "done" }, metadata: {} }]);
    expect(second).toEqual([]);
  });

  test("clear_output clears now, or before the next output with wait=true", () => {
    expect(applyMessages([msg("stream", { name: "stdout", text: "a" }), msg("clear_output", { wait: false }), msg("stream", { name: "stdout", text: "b" })])).toEqual([{ output_type: "stream", name: "stdout", text: "b" }]);
    expect(applyMessages([msg("stream", { name: "stdout", text: "a" }), msg("clear_output", { wait: true })])).toEqual([{ output_type: "stream", name: "stdout", text: "a" }]);
  });

  test("execute_result and error become nbformat outputs", () => {
    const outs = applyMessages([msg("execute_result", { data: { "text/plain": "1" }, metadata: {}, execution_count: 4 }), msg("error", { ename: "E", evalue: "v", traceback: ["t"] })]);
    expect(outs).toEqual([
      { output_type: "execute_result", data: { "text/plain": "1" }, metadata: {}, execution_count: 4 },
      { output_type: "error", ename: "E", evalue: "v", traceback: ["t"] },
    ]);
  });
});
