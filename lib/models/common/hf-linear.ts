/**
 * Hugging Face nn.Linear / norm tensors <-> role weights, for the families whose checkpoints store
 * nn.Linear weights as [out, in] (Llama, OPT, GPT-NeoX; GPT-2's Conv1D is already [in, out]).
 * New tensors both ways: the source state dict or weights stay the caller's.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Dense, Norm } from "../roles";
import type { StateDict } from "../types";
import { markStoredLayout, markTransient, READ_ON_USE, STORED_LAYOUT } from "./read-on-use";
import { transposeWeight } from "./transpose";

/**
 * `${name}.weight` [out, in] -> Dense w [in, out], with `${name}.bias` [out] when `withBias`.
 * From a read-on-use state dict (lib/models/common/read-on-use.ts), w is read and transposed when
 * first used, and freed by the product that uses it; from a stored-layout one, w is the stored
 * tensor itself, [out, in], marked so that `linear` multiplies by its transpose (no copy: on the
 * wasm backend even tf.clone copies).
 */
export function linearFromHf(sd: StateDict, name: string, withBias: boolean): Dense {
  const marks = sd as Record<symbol, unknown>;
  const weight = (): tf.Tensor2D => {
    const raw = sd[`${name}.weight`] as tf.Tensor2D;
    return marks[STORED_LAYOUT] === true ? markStoredLayout(raw) : transposeWeight(raw);
  };
  if (marks[READ_ON_USE] === true) {
    let w: tf.Tensor2D | undefined;
    const b = withBias ? (tf.clone(sd[`${name}.bias`]) as tf.Tensor1D) : undefined;
    return {
      get w(): tf.Tensor2D {
        return (w ??= markTransient(weight()));
      },
      b,
    };
  }
  return {
    w: weight(),
    b: withBias ? (tf.clone(sd[`${name}.bias`]) as tf.Tensor1D) : undefined,
  };
}

/** `${name}.weight` [d] (and `${name}.bias` [d] when `withBias`: LayerNorm; RMSNorm has none). */
export function normFromHf(sd: StateDict, name: string, withBias: boolean): Norm {
  return {
    w: tf.clone(sd[`${name}.weight`]) as tf.Tensor1D,
    b: withBias ? (tf.clone(sd[`${name}.bias`]) as tf.Tensor1D) : undefined,
  };
}

/** Inverse of {@link linearFromHf} into `sd`: w [in, out] -> [out, in], the bias when present; nothing for undefined. */
export function linearToHf(sd: StateDict, name: string, d: Dense | undefined): void {
  if (d === undefined) return;
  sd[`${name}.weight`] = transposeWeight(d.w);
  if (d.b !== undefined) sd[`${name}.bias`] = tf.clone(d.b);
}

/** Inverse of {@link normFromHf} into `sd`: the gain, and the bias when present; nothing for undefined. */
export function normToHf(sd: StateDict, name: string, n: Norm | undefined): void {
  if (n === undefined) return;
  sd[`${name}.weight`] = tf.clone(n.w);
  if (n.b !== undefined) sd[`${name}.bias`] = tf.clone(n.b);
}
