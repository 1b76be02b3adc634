/** Shared pieces of the model tests: tiny checkpoints in a temp folder and comparisons. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { makeTinyCheckpoints } from "../../scripts/make-tiny-checkpoints";
import type { ForwardOutput } from "../../lib/models/types";
import type { RefOutput, Rows } from "./reference/common";

/** float32 forward vs float64 reference: max absolute difference allowed (issue 3). */
export const TOL_F32 = 1e-4;
/** ... and max difference relative to the largest |value| of the reference tensor (issue 13). */
export const TOL_F32_REL = 1e-4;

/** Write every tiny checkpoint variant into a fresh temp folder. */
export function tinyCheckpoints(): { root: string; dirs: Record<string, string>; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-models-"));
  const dirs = makeTinyCheckpoints(root);
  return { root, dirs, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Largest |a - b| between row b of a [batch, pos, width] tensor and reference rows [pos][width]. */
export function maxDiff(t: tf.Tensor3D, batchRow: number, ref: Rows): number {
  const [, nPos, width] = t.shape;
  const data = t.dataSync();
  if (ref.length !== nPos || ref[0].length !== width) {
    throw new Error(`maxDiff: tensor [${t.shape}] vs reference [${ref.length}, ${ref[0].length}]`);
  }
  let worst = 0;
  for (let p = 0; p < nPos; p++) {
    for (let i = 0; i < width; i++) {
      worst = Math.max(worst, Math.abs(data[(batchRow * nPos + p) * width + i] - ref[p][i]));
    }
  }
  return worst;
}

/** Largest |value| of reference rows. */
function maxAbs(ref: Rows): number {
  let m = 0;
  for (const row of ref) for (const v of row) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Per-state and logits max differences of a forward output against references (one per batch
 * row): absolute (max |a - r|) and relative to the reference's scale (max |a - r| / max |r|).
 */
export function compare(out: ForwardOutput, refs: RefOutput[]): {
  states: number[]; resid: number; logits: number; relStates: number[]; relResid: number; relLogits: number;
} {
  const abs = (t: tf.Tensor3D, pick: (r: RefOutput) => Rows) => Math.max(...refs.map((r, row) => maxDiff(t, row, pick(r))));
  const rel = (t: tf.Tensor3D, pick: (r: RefOutput) => Rows) =>
    Math.max(...refs.map((r, row) => maxDiff(t, row, pick(r)) / maxAbs(pick(r))));
  const logits = out.logits as tf.Tensor3D;
  return {
    states: out.hiddenStates.map((s, b) => abs(s, (r) => r.states[b])),
    resid: abs(out.residPreFinalNorm, (r) => r.residPreFinalNorm),
    logits: abs(logits, (r) => r.logits),
    relStates: out.hiddenStates.map((s, b) => rel(s, (r) => r.states[b])),
    relResid: rel(out.residPreFinalNorm, (r) => r.residPreFinalNorm),
    relLogits: rel(logits, (r) => r.logits),
  };
}

/** Dispose every tensor of a forward output. */
export function disposeOutput(out: ForwardOutput): void {
  tf.dispose([...out.hiddenStates, out.residPreFinalNorm, ...(out.logits ? [out.logits] : [])]);
}
