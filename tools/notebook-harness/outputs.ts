/**
 * Turns a cell's iopub messages into nbformat outputs the way Jupyter front ends and nbclient do:
 * adjacent streams of the same name are joined, `clear_output` clears (at once, or before the
 * next output when `wait` is set), and `update_display_data` replaces the data of every earlier
 * output that carries the same `display_id` (also in earlier cells, through `displays`).
 */
import type { JupyterMessage } from "./wire";
import type { DisplayDataOutput, ExecuteResultOutput, Output } from "./nbformat";

/** Outputs by display_id, shared by all cells of one notebook run. */
export type DisplayRegistry = Map<string, (DisplayDataOutput | ExecuteResultOutput)[]>;

interface DisplayContent {
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  transient?: { display_id?: string };
  execution_count?: number;
}

/** Applies `messages` to `outputs` (mutated and returned). */
export function applyMessages(messages: readonly JupyterMessage[], outputs: Output[] = [], displays: DisplayRegistry = new Map()): Output[] {
  let clearPending = false;
  const clearIfPending = () => {
    if (clearPending) {
      outputs.length = 0;
      clearPending = false;
    }
  };
  for (const msg of messages) {
    const type = msg.header.msg_type;
    const content = msg.content as Record<string, unknown>;
    switch (type) {
      case "stream": {
        clearIfPending();
        const name = content.name === "stderr" ? "stderr" : "stdout";
        const text = String(content.text ?? "");
        const last = outputs[outputs.length - 1];
        if (last && last.output_type === "stream" && last.name === name) last.text += text;
        else outputs.push({ output_type: "stream", name, text });
        break;
      }
      case "display_data":
      case "execute_result": {
        clearIfPending();
        const c = content as DisplayContent;
        const out: DisplayDataOutput | ExecuteResultOutput =
          type === "display_data"
            ? { output_type: "display_data", data: c.data ?? {}, metadata: c.metadata ?? {} }
            : { output_type: "execute_result", data: c.data ?? {}, metadata: c.metadata ?? {}, execution_count: c.execution_count ?? null };
        outputs.push(out);
        const id = c.transient?.display_id;
        if (id) displays.set(id, [...(displays.get(id) ?? []), out]);
        break;
      }
      case "update_display_data": {
        const c = content as DisplayContent;
        const id = c.transient?.display_id;
        for (const out of (id && displays.get(id)) || []) {
          out.data = c.data ?? {};
          out.metadata = c.metadata ?? {};
        }
        break;
      }
      case "error": {
        clearIfPending();
        outputs.push({
          output_type: "error",
          ename: String(content.ename ?? ""),
          evalue: String(content.evalue ?? ""),
          traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : [],
        });
        break;
      }
      case "clear_output":
        if (content.wait) clearPending = true;
        else outputs.length = 0;
        break;
      default:
        // execute_input, comm_*, status: not outputs.
        break;
    }
  }
  return outputs;
}
