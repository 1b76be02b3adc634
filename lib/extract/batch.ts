/**
 * The forward passes of one extraction batch: token ids in, the stored states of every token out.
 * Runs in the main thread or in a worker of ForwardPool (forward-worker.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import { idsTensor } from "../models/common/ids";
import type { Model } from "../models/types";
import { freshBuffer } from "../native/fresh-buffer";
import { heapView, type WasmBackend } from "../native/wasm-heap";
import type { PointStates } from "./points";

/** Where the states of a batch go: rows [row, row + values.length / d_model) of state `state`, [rows, d_model] row-major. */
export interface StateSink {
  put(state: number, row: number, values: Float32Array): void;
}

/**
 * Run the model over each sequence of a batch and return, per state, the states of all tokens
 * of the batch concatenated ([tokens, d_model] row-major): the n_layers + 1 hidden states, or
 * the sublayer points of `points` (see lib/extract/points.ts). Sequences of equal length run
 * together in one forward pass (no padding, which models may not support).
 *
 * The states are views of one buffer. `reuse`: the states of an earlier batch, done with; when
 * their buffer holds this batch's states, they are filled into it instead of a new one: on the
 * virtual machines this project is measured on, the first touch of a fresh 4 KiB page costs
 * 11 us, so fresh buffers every batch cost more than the copies into them.
 */
export async function batchStates(
  model: Model,
  batch: readonly { tokenIds: Int32Array }[],
  points?: PointStates,
  reuse?: readonly Float32Array[],
): Promise<Float32Array[]> {
  const { n_layers, d_model } = model.config;
  const nTokens = batch.reduce((n, s) => n + s.tokenIds.length, 0);
  const states = stateBuffers(reuse, points?.names.length ?? n_layers + 1, nTokens * d_model);
  await forwardBatch(model, batch, points, { put: (state, row, values) => states[state].set(values, row * d_model) });
  return states;
}

/**
 * {@link batchStates}, each state put into `sink` as the forward pass makes it (rows in batch
 * order) instead of into float32 arrays: extract in the main thread encodes them to float16 there.
 */
export async function forwardBatch(model: Model, batch: readonly { tokenIds: Int32Array }[], points: PointStates | undefined, sink: StateSink): Promise<void> {
  const { n_layers, d_model } = model.config;
  const nStates = points?.names.length ?? n_layers + 1;
  // Row offset of each sequence in the concatenated output.
  const rowOf: number[] = [];
  batch.reduce((row, s, i) => ((rowOf[i] = row), row + s.tokenIds.length), 0);
  // Group sequences by length, keeping their positions in the batch.
  const byLength = new Map<number, number[]>();
  batch.forEach((s, i) => byLength.set(s.tokenIds.length, [...(byLength.get(s.tokenIds.length) ?? []), i]));
  for (const [pos, members] of byLength) {
    const ids = new Int32Array(members.length * pos);
    members.forEach((m, b) => ids.set(batch[m].tokenIds, b * pos));
    // Sequence b of this forward goes to its rows of the batch's states.
    const place = (s: number, data: Float32Array): void => {
      members.forEach((m, b) => sink.put(s, rowOf[m], data.subarray(b * pos * d_model, (b + 1) * pos * d_model)));
    };
    let handed = 0;
    const hidden = tf.tidy(() => {
      const input = idsTensor(model.config.d_vocab, ids, [members.length, pos]); // [batch, pos], checked here once
      if (points !== undefined) return points.select(model.forward(input, { logits: false, points: points.request })); // nStates x [batch, pos, d_model]
      // Each hidden state is copied out as the pass makes it: the wasm heap holds two of them, not n_layers + 1.
      const onHiddenState = (s: number, h: tf.Tensor3D): void => {
        place(s, onWasmHeap(h) ?? (h.dataSync() as Float32Array));
        handed++;
      };
      return model.forward(input, { logits: false, onHiddenState }).hiddenStates; // none, from a model that honours onHiddenState
    });
    try {
      for (let s = 0; s < hidden.length; s++) place(s, onWasmHeap(hidden[s]) ?? ((await hidden[s].data()) as Float32Array)); // [batch, pos, d_model]
    } finally {
      tf.dispose(hidden);
    }
    if (handed + hidden.length !== nStates) throw new Error(`extract: the forward pass gave ${handed + hidden.length} states, expected ${nStates}`);
  }
}

/**
 * `nStates` arrays of `length` values, views of one buffer: that of `reuse` (an earlier batch's
 * states, all views of one buffer from its start, as this function makes them) when it holds
 * them all, else a fresh one whose pages are faulted in off this thread while the forward pass
 * runs (lib/native/fresh-buffer.ts): one buffer, so one background thread and one mapping.
 */
function stateBuffers(reuse: readonly Float32Array[] | undefined, nStates: number, length: number): Float32Array[] {
  const total = nStates * length;
  const spare = reuse?.[0]?.buffer;
  const ours = spare instanceof ArrayBuffer && reuse![0].byteOffset === 0 && reuse!.every((r) => r.buffer === spare);
  const all = ours && spare.byteLength >= 4 * total ? new Float32Array(spare, 0, total) : freshBuffer(Float32Array, total);
  return Array.from({ length: nStates }, (_, s) => all.subarray(s * length, (s + 1) * length));
}

/**
 * A float32 tensor's values read in place on the wasm heap (no copy out as `data()` makes), or
 * undefined on other backends. The view is valid until the next tfjs call: copy from it at once.
 */
function onWasmHeap(t: tf.Tensor): Float32Array | undefined {
  if (t.dtype !== "float32" || tf.getBackend() !== "wasm") return undefined;
  const backend = tf.backend() as unknown as WasmBackend;
  if (backend.dataIdMap?.get(t.dataId) === undefined) return undefined;
  return heapView(backend, t);
}
