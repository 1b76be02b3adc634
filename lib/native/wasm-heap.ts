/**
 * Reading and writing tfjs-backend-wasm tensors in place, for kernels written in JavaScript on
 * the wasm heap (lib/native/wasm-matmul.ts, wasm-attention.ts, wasm-rotary.ts): no copy in or out.
 */
import type * as tf from "@tensorflow/tfjs-core";
import { util } from "@tensorflow/tfjs-core";

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use (its dist/backend_wasm.d.ts). */
export interface WasmBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number; shape: number[]; dtype: string } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: { HEAPU8: Uint8Array };
}

/** A kernel's arguments as tfjs passes them. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/**
 * A float32 tensor's values on the wasm heap, viewed afresh: the heap's buffer changes when memory
 * grows, so take views after every makeOutput, never before.
 */
export function heapView(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error("native kernel: a tensor's data is not on the wasm backend");
  return new Float32Array(backend.wasm.HEAPU8.buffer, data.memoryOffset, util.sizeFromShape(t.shape));
}
