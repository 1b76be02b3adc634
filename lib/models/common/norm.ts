/** Normalizations over the last axis (d_model), written from their definitions. */
import * as tf from "@tensorflow/tfjs-core";
import { fusedKernelsActive, fusedLayerNorm, fusedRmsNorm } from "../../native/wasm-fused";
import type { Norm } from "../roles";

/** Whether the fused C norms can take x and its weights (inference on the native route, float32). */
function fused(...ts: tf.Tensor[]): boolean {
  return fusedKernelsActive() && ts.every((t) => t.dtype === "float32") && ts[1].rank === 1 && ts.slice(1).every((w) => w.size === ts[0].shape[ts[0].rank - 1]);
}

/**
 * LayerNorm: (x - mean) / sqrt(var + eps) * gain + bias, with the biased variance over the
 * last axis (as torch.nn.LayerNorm). x [..., d_model]; gain, bias [d_model]. One C kernel in
 * inference on the native route (lib/native/wasm-fused.ts).
 */
export function layerNorm<T extends tf.Tensor>(x: T, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): T {
  if (fused(x, gain, bias)) return fusedLayerNorm(x, gain, bias, eps);
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true); // [..., 1]
    const centred = tf.sub(x, mean); // [..., d_model]
    const variance = tf.mean(tf.square(centred), -1, true); // [..., 1]
    const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, gain), bias) as T;
  });
}

/**
 * RMSNorm (Llama): x / sqrt(mean(x^2) + eps) * gain, no centring and no bias.
 * x [..., d_model]; gain [d_model]. One C kernel in inference on the native route.
 */
export function rmsNorm<T extends tf.Tensor>(x: T, gain: tf.Tensor1D, eps: number): T {
  if (fused(x, gain)) return fusedRmsNorm(x, gain, eps);
  return tf.tidy(() => {
    const meanSquare = tf.mean(tf.square(x), -1, true); // [..., 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain) as T;
  });
}

/** LayerNorm with a block's norm weights (gain w and bias b). */
export function layerNormOf<T extends tf.Tensor>(x: T, n: Norm, eps: number): T {
  if (n.b === undefined) throw new Error("layerNorm: LayerNorm weights need a bias 'b'");
  return layerNorm(x, n.w, n.b, eps);
}
