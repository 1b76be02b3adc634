/**
 * A checkpoint tensor read into a float32 tfjs tensor, the way streaming reads every block.
 *
 * Why: the plain route (SafetensorsTensor.read() then tf.tensor) decodes F16/BF16 into a fresh
 * float32 array and copies that into the wasm heap: for a bf16 7B model 27 GB of new pages and
 * another 27 GB copied. On the wasm backend the values are read straight into the new tensor's
 * own memory (SafetensorsTensor.readFloat32Into: on every core with the native addon, else
 * widened in place), so a block costs no memory outside the heap and no fresh pages (reading
 * 13.5 GB into new buffers cost 3.3M page faults, ~20% of a 7B run). Values are the same
 * (decoding is exact either way).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SafetensorsTensor } from "../../io/safetensors";
import { heapView, type WasmBackend } from "../../native/wasm-heap";

/** Tensor `t` of an open safetensors file as float32 (F16/BF16 decoded exactly), read now. */
export function storedTensor(t: SafetensorsTensor): tf.Tensor {
  if (tf.getBackend() !== "wasm" || (t.dtype !== "BF16" && t.dtype !== "F16" && t.dtype !== "F32")) return tf.tensor(t.read(), t.shape, "float32");
  const backend = tf.backend() as unknown as WasmBackend;
  // Allocate first: the heap may grow; the view is taken after.
  const out = backend.makeOutput([...t.shape], "float32");
  try {
    t.readFloat32Into(heapView(backend, out)); // [n] float32
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  }
  return tf.engine().makeTensorFromTensorInfo(out);
}
