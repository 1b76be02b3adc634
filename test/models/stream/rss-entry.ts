/**
 * Child process of the resident-memory test: extracts with `extract()` under a budget and prints
 * {base, peak} in bytes as JSON: base = VmRSS once the backend and the library are loaded (Node,
 * tfjs, the wasm module: what any run costs before a model), peak = VmHWM at the end.
 * argv: MODEL TEXT OUT RUN(whole|streamed|auto) MEMORY_BYTES
 */
import * as fs from "node:fs";
import { initBackend } from "../../../lib/backend";
import { extract } from "../../../lib/extract/extract";

function status(key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
  return Number(m![1]) * 1024;
}

async function main(): Promise<void> {
  const [model, text, out, run, memory] = process.argv.slice(2);
  await initBackend({ quiet: true });
  const base = status("VmRSS");
  const r = await extract({ model, text, out, seqLen: 32, batchSize: 4, workers: 1, run: run as "whole" | "streamed" | "auto", memory: Number(memory) });
  process.stdout.write(JSON.stringify({ base, peak: status("VmHWM"), streamed: r.streamed, tokens: r.tokens }) + "\n");
}
void main();
