/**
 * Weights read when a product first needs them and freed when it is done: how a block larger than
 * the memory budget or the wasm heap still runs (lib/models/stream/plan.ts, "tensor by tensor").
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
