/**
 * Export one state, or the token ids, of a dataset as a standalone `.npy` file, streamed in
 * chunks into a temporary file that is renamed into place when complete.
 *
 * An export never destroys data: it refuses an output inside a dataset folder (the dataset's own
 * manifest.json included), an existing file unless `force`, and float16 values that would become
 * infinite. Temp files a killed export left beside the output are removed first.
 */
import * as path from "path";
import { removeStaleTemps, writeAtomicWith } from "../io/atomic";
import { FLOAT16_MAX, float16Overflow } from "../io/f16";
import { encodeNpyData, npyHeaderBytes, writeNpy } from "../io/npy";
import { guardOutput } from "../io/output-guard";
import type { HiddenStateDataset } from "./reader";
import { tokenGroups, type TokenGroups } from "./token-groups";

export interface ExportStateOptions {
  /** Stored dtype of the output (default float32). */
  dtype?: "float32" | "float16";
  /** Rows per chunk (default 4096). */
  rows?: number;
  /** Overwrite an existing output file (default false: refuse). */
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Refuse an output that would overwrite data (lib/io/output-guard.ts: inside the exported dataset
 * or any other dataset folder, a folder, or an existing file without `force`), then clear this
 * output's stale temp files. Returns the real path to write.
 */
export function checkExportTarget(ds: HiddenStateDataset, out: string, force = false): string {
  const target = guardOutput(out, { kind: "file", flag: "--out", force, reads: [ds.dir], what: "the export" }).path;
  removeStaleTemps(path.dirname(target), path.basename(target));
  return target;
}

/** Write state `b` of `ds` as a [tokens, d_model] `.npy` file. */
export function exportState(ds: HiddenStateDataset, b: number, out: string, opts: ExportStateOptions = {}): void {
  const dtype = opts.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float16") throw new Error(`exportState: dtype must be float32 or float16, got '${dtype}'`);
  ds.rows(b, 0, 0); // validates b before creating any file
  const target = checkExportTarget(ds, out, opts.force);
  writeAtomicWith(target, (w) => {
    w.write(npyHeaderBytes(dtype, [ds.nTokens, ds.dModel]));
    for (const chunk of ds.chunks({ rows: opts.rows, states: [b] })) {
      const values = chunk.states[0];
      if (dtype === "float16") {
        // float16 turns these into ±Inf; the dataset writer refuses them too.
        const at = float16Overflow(values);
        if (at >= 0) {
          throw new Error(
            `${ds.dir}: state ${b} value ${values[at]} at row ${chunk.start + Math.floor(at / ds.dModel)}, column ${at % ds.dModel} overflows float16 (max ${FLOAT16_MAX}); export as float32`,
          );
        }
      }
      w.write(encodeNpyData(dtype, values));
      opts.onProgress?.(chunk.start + chunk.rows, ds.nTokens);
    }
  });
}

/** Write the token ids of `ds` as an int32 [tokens] `.npy` file. */
export function exportTokenIds(ds: HiddenStateDataset, out: string, opts: { force?: boolean } = {}): void {
  const ids = ds.tokenIds();
  if (ids === undefined) {
    throw new Error(`${ds.dir}: has no token ids (the original block{b}/s{i} layout stores none)`);
  }
  const target = checkExportTarget(ds, out, opts.force);
  writeNpy(target, { dtype: "int32", shape: [ids.length], data: ids });
}

/**
 * Write the group (document) id of every token as int32 [tokens] (see token-groups.ts): the
 * `--groups` file of `linearity score` for exported states. Returns where the ids came from
 * ("documents", or "sequences" for a dataset without document ids).
 */
export function exportGroups(ds: HiddenStateDataset, out: string, opts: { force?: boolean } = {}): TokenGroups {
  const groups = tokenGroups(ds);
  const target = checkExportTarget(ds, out, opts.force);
  writeNpy(target, { dtype: "int32", shape: [groups.ids.length], data: groups.ids });
  return groups;
}
