/** MLP activation functions, by their Hugging Face names. All differentiable. */
import * as tf from "@tensorflow/tfjs-core";
import { fusedGeluTanh, fusedKernelsActive, fusedSwiglu } from "../../native/wasm-fused";
import type { Activation } from "../config";

/** gelu_new (GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); one C kernel in inference on the native route. */
export function geluTanh<T extends tf.Tensor>(x: T): T {
  if (fusedKernelsActive() && x.dtype === "float32") return fusedGeluTanh(x);
  return tf.tidy(() => {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.square(x)))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner))) as T;
  });
}

/** gelu (exact): 0.5 x (1 + erf(x / sqrt 2)). */
export function geluErf<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T);
}

/** silu / swish (Llama): x * sigmoid(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/** relu (OPT): max(x, 0). */
export function relu<T extends tf.Tensor>(x: T): T {
  return tf.relu(x);
}

/** Apply the activation named in the config. */
export function activate<T extends tf.Tensor>(name: Activation, x: T): T {
  switch (name) {
    case "gelu_new": return geluTanh(x);
    case "gelu": return geluErf(x);
    case "silu": return silu(x);
    case "relu": return relu(x);
  }
}

/**
 * The gated MLP's hidden activations act(gate) * up (Llama's SwiGLU with act = silu), for gate
 * and up [..., d_mlp] of one shape; silu's is one C kernel in inference on the native route.
 */
export function gatedActivation<T extends tf.Tensor>(name: Activation, gate: T, up: T): T {
  if (name === "silu" && fusedKernelsActive() && gate.dtype === "float32" && up.dtype === "float32" && gate.shape.every((d, i) => d === up.shape[i]) && gate.rank === up.rank) {
    return fusedSwiglu(gate, up);
  }
  return tf.mul(activate(name, gate), up);
}
