/**
 * What every command that runs a model shares about memory: the --memory option, the peak
 * resident memory printed at the end (stderr, so stdout stays the result), and the translation of
 * the wasm runtime's own out-of-memory failures into one readable line.
 */
import type { Command } from "commander";
import { formatBytes, parseMemorySize, peakResidentBytes } from "../models/stream/memory";

/** Add `--memory SIZE` to a command that runs a model. */
export function memoryOption(command: Command): Command {
  return command.option(
    "--memory <size>",
    "memory budget for the model, e.g. 4G or 512M (default: 3/4 of the memory available at start); a model whose float32 weights do not fit half of it runs streamed, one block at a time",
    (v: string) => {
      parseMemorySize(v, "--memory");
      return v;
    },
  );
}

/** Print `peak resident memory: 1.23 GiB` to stderr (nothing where /proc is absent). */
export function reportPeakMemory(streamed?: boolean): void {
  const peak = peakResidentBytes();
  if (peak === undefined) return;
  const how = streamed === undefined ? "" : streamed ? " (weights streamed block by block)" : " (whole model resident)";
  process.stderr.write(`peak resident memory: ${formatBytes(peak)}${how}\n`);
}

/** Messages the wasm runtime or V8 gives when memory runs out, which mean nothing to a user. */
const OUT_OF_MEMORY = /Aborted\(|memory access out of bounds|WebAssembly\.Memory|Array buffer allocation failed|Invalid typed array length|Cannot allocate|out of memory|OOM when allocating/i;

/** A user-facing line for an out-of-memory failure, or the message unchanged. */
export function explainOutOfMemory(message: string): string {
  if (!OUT_OF_MEMORY.test(message)) return message;
  const first = message.split("\n")[0].replace(/\s*Build with -sASSERTIONS for more info\.?/, "").trim();
  return `the model ran out of memory (${first}); use a smaller --batch-size or --seq-len, or a smaller --memory so that the weights stream block by block`;
}
