/**
 * Export one state, or the token ids, of a dataset as a standalone `.npy` file, streamed in
 * chunks into a temporary file that is renamed into place when complete.
 */
import { writeAtomicWith } from "../io/atomic";
import { encodeNpyData, npyHeaderBytes, writeNpy } from "../io/npy";
import type { HiddenStateDataset } from "./reader";

export interface ExportStateOptions {
  /** Stored dtype of the output (default float32). */
  dtype?: "float32" | "float16";
  /** Rows per chunk (default 4096). */
  rows?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Write state `b` of `ds` as a [tokens, d_model] `.npy` file. */
export function exportState(ds: HiddenStateDataset, b: number, out: string, opts: ExportStateOptions = {}): void {
  const dtype = opts.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float16") throw new Error(`exportState: dtype must be float32 or float16, got '${dtype}'`);
  ds.rows(b, 0, 0); // validates b before creating any file
  writeAtomicWith(out, (w) => {
    w.write(npyHeaderBytes(dtype, [ds.nTokens, ds.dModel]));
    for (const chunk of ds.chunks({ rows: opts.rows, states: [b] })) {
      w.write(encodeNpyData(dtype, chunk.states[0]));
      opts.onProgress?.(chunk.start + chunk.rows, ds.nTokens);
    }
  });
}

/** Write the token ids of `ds` as an int32 [tokens] `.npy` file. */
export function exportTokenIds(ds: HiddenStateDataset, out: string): void {
  const ids = ds.tokenIds();
  if (ids === undefined) {
    throw new Error(`${ds.dir}: has no token ids (the original block{b}/s{i} layout stores none)`);
  }
  writeNpy(out, { dtype: "int32", shape: [ids.length], data: ids });
}
