/**
 * How a streamed block holds its weights (lib/models/read.ts builds the state dicts, `linearFromHf`
 * and `linear` act on the marks).
 *
 * Read on use: weights read when a product first needs them and freed when it is done, how a
 * block larger than the memory budget or the wasm heap still runs (lib/models/stream/plan.ts,
 * "tensor by tensor").
 *
 * A state dict marked {@link READ_ON_USE} (lib/models/read.ts reads such a block) makes
 * `linearFromHf` return a Dense whose `w` is read, transposed and marked transient only when the
 * block's code first asks for it; `linear` frees a transient weight right after its one product.
 * A block then holds one projection at a time (its stored copy and its transpose) instead of all
 * of them. Every family's block uses each projection once, and a streamed model is never
 * differentiated, so nothing reads a freed weight (it would throw tfjs's "Tensor is disposed").
 */
import type * as tf from "@tensorflow/tfjs-core";

/** The key a read-on-use state dict answers true to. */
export const READ_ON_USE: unique symbol = Symbol("linearity.readOnUse");

/**
 * The key a state dict answers true to when its nn.Linear weights may stay in their stored
 * [out, in] layout: `linearFromHf` then marks them instead of transposing, and `linear` multiplies
 * by them transposed (x @ w^T). Asked for by streamed forwards when the products run on the
 * native BLAS, whose sgemm reads a transposed operand at full speed: it saves a transposed copy
 * of every weight on every forward (4.4 GB of float32 writes per TinyLlama pass, 27 GB per 7B
 * one). Whole models keep the [in, out] layout: training and the wasm kernels want it.
 */
export const STORED_LAYOUT: unique symbol = Symbol("linearity.storedLayout");

const storedLayout = new WeakSet<tf.Tensor>();
let storedLayoutMarks = 0;

/** Mark `w` as an nn.Linear weight in its stored [d_out, d_in] layout. */
export function markStoredLayout<T extends tf.Tensor>(w: T): T {
  storedLayout.add(w);
  storedLayoutMarks++;
  return w;
}

/** Whether `w` is [d_out, d_in] (see {@link STORED_LAYOUT}) rather than the project's [d_in, d_out]. */
export function isStoredLayout(w: tf.Tensor): boolean {
  return storedLayout.has(w);
}

/** How many weights were kept in their stored layout so far in this thread (tests check the route is taken). */
export function storedLayoutCount(): number {
  return storedLayoutMarks;
}

const transient = new WeakSet<tf.Tensor>();

/** Mark `t` to be freed by the first product that uses it (see {@link releaseIfTransient}). */
export function markTransient<T extends tf.Tensor>(t: T): T {
  transient.add(t);
  return t;
}

/** Free `t` now if it was marked transient; called by `linear` after its product. */
export function releaseIfTransient(t: tf.Tensor): void {
  if (!transient.has(t)) return;
  transient.delete(t);
  t.dispose();
}
