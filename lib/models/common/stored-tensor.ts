/**
 * A checkpoint tensor read into a float32 tfjs tensor, the way streaming reads every block.
 *
 * Why: the plain route (SafetensorsTensor.read() then tf.tensor) decodes F16/BF16 into a fresh
 * float32 array and copies that into the wasm heap: for a bf16 7B model 27 GB of new pages and
 * another 27 GB copied. On the wasm backend the stored bits are read from the file into the upper
 * half of the new tensor's own memory and widened in place, front to back (element i's 4 bytes
 * end at or before element i+1's 2 stored bytes begin), so a block costs no memory outside the
 * heap and no fresh pages (reading 13.5 GB into new buffers cost 3.3M page faults, ~20% of a 7B
 * run). Values are the same (decoding is exact either way).
 */
import * as tf from "@tensorflow/tfjs-core";
import { decodeBf16, decodeF16 } from "../../io/f16";
import type { SafetensorsTensor } from "../../io/safetensors";
import { heapView, type WasmBackend } from "../../native/wasm-heap";

/** Tensor `t` of an open safetensors file as float32 (F16/BF16 decoded exactly), read now. */
export function storedTensor(t: SafetensorsTensor): tf.Tensor {
  if (tf.getBackend() !== "wasm" || (t.dtype !== "BF16" && t.dtype !== "F16")) return tf.tensor(t.read(), t.shape, "float32");
  const backend = tf.backend() as unknown as WasmBackend;
  // Allocate first: the heap may grow; the view is taken after.
  const out = backend.makeOutput([...t.shape], "float32");
  const into = heapView(backend, out); // [n] float32, 4n bytes
  const n = into.length;
  const stored = new Uint8Array(into.buffer, into.byteOffset + 2 * n, 2 * n); // its upper half
  t.readBytesInto(stored);
  const bits = new Uint16Array(into.buffer, into.byteOffset + 2 * n, n);
  if (t.dtype === "BF16") decodeBf16(bits, into);
  else decodeF16(bits, into);
  return tf.engine().makeTensorFromTensorInfo(out);
}
