/**
 * `openSamples()`: the set-up the analysis notebooks share. Chooses the TensorFlow.js backend,
 * opens the hidden states (env LINEARITY_DATA, else the project's data-samples/hidden-states)
 * and loads every state as a [tokens, d_model] tensor, with a one-line summary to print.
 */
import * as fs from "fs";
import * as path from "path";
import type * as tf from "@tensorflow/tfjs-core";
import { BackendName, initBackend } from "../backend";
import { HiddenStateDataset } from "./reader";

/** What `openSamples()` returns: the opened dataset, every state as `[tokens, d_model]`, and a two-line summary to print. */
export interface Samples {
  /** The TensorFlow.js backend in use. */
  backend: BackendName;
  ds: HiddenStateDataset;
  /** One tensor per state (nStates of them), each [tokens, d_model]. */
  states: tf.Tensor2D[];
  /** Backend, model and sizes in two lines, e.g. for `console.log`. */
  summary: string;
}

/** The project's data-samples/hidden-states, found above this file (works from lib/ and dist/lib/). */
export function defaultSamplesDir(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "data-samples", "hidden-states");
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`linearity: data-samples/hidden-states: not found above ${from} (set LINEARITY_DATA to a dataset folder)`);
  }
}

/**
 * Opens a hidden-state dataset and loads all its states. `dir` defaults to env LINEARITY_DATA,
 * then the project's data-samples/hidden-states.
 */
export async function openSamples(opts: { dir?: string } = {}): Promise<Samples> {
  const backend = await initBackend({ quiet: true });
  const dir = opts.dir ?? process.env.LINEARITY_DATA ?? defaultSamplesDir();
  const ds = HiddenStateDataset.open(dir);
  const states = Array.from({ length: ds.nStates }, (_, b) => ds.stateTensor(b));
  const summary =
    `TensorFlow.js backend '${backend}'\n` +
    `${ds.model.name} (${ds.model.family}): ${ds.nLayers} blocks -> ${ds.nStates} states x d_model ${ds.dModel}, ${ds.nTokens} tokens in ${ds.samples.length} sequences`;
  return { backend, ds, states, summary };
}
