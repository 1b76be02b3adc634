/**
 * A checkpoint tensor read into a float32 tfjs tensor, the way streaming reads every block.
 *
 * Why: the plain route (SafetensorsTensor.read() then tf.tensor) decodes F16/BF16 into a fresh
 * float32 array and copies that into the wasm heap: for a bf16 7B model 27 GB of new pages and
 * another 27 GB copied. On the wasm backend this decodes the stored bits straight into the new
 * tensor's memory instead. Values are the same (decoding is exact either way).
 */
import * as tf from "@tensorflow/tfjs-core";
import { decodeBf16, decodeF16 } from "../../io/f16";
import type { SafetensorsTensor } from "../../io/safetensors";
import { heapView, type WasmBackend } from "../../native/wasm-heap";

/** Tensor `t` of an open safetensors file as float32 (F16/BF16 decoded exactly), read now. */
export function storedTensor(t: SafetensorsTensor): tf.Tensor {
  if (tf.getBackend() !== "wasm" || (t.dtype !== "BF16" && t.dtype !== "F16")) return tf.tensor(t.read(), t.shape, "float32");
  const bytes = t.readBytes();
  const bits = bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Uint16Array(bytes.slice().buffer);
  const backend = tf.backend() as unknown as WasmBackend;
  // Allocate first: the heap may grow; the view is taken after.
  const out = backend.makeOutput([...t.shape], "float32");
  const into = heapView(backend, out);
  if (t.dtype === "BF16") decodeBf16(bits, into);
  else decodeF16(bits, into);
  return tf.engine().makeTensorFromTensorInfo(out);
}
