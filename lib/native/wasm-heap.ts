/**
 * Reading and writing tfjs-backend-wasm tensors in place, for kernels written in JavaScript on
 * the wasm heap (lib/native/wasm-matmul.ts, wasm-attention.ts, wasm-rotary.ts): no copy in or out.
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeMemory } from "./blas";

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use (its dist/backend_wasm.d.ts). */
export interface WasmBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number; shape: number[]; dtype: string } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): void;
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
  return new Float32Array(backend.wasm.HEAPU8.buffer, data.memoryOffset, tf.util.sizeFromShape(t.shape));
}

/** The most a wasm32 heap can grow to. */
const WASM32_MAX_BYTES = 2 ** 32;

let advised = false;

/**
 * Back the wasm heap with transparent huge pages where Linux allows it (THP "madvise" or
 * "always"), once per thread; false off the wasm backend or where the addon, the call or the
 * kernel's support is missing.
 *
 * Why: on the virtual machines this project is measured on, the first touch of a 4 KiB page
 * cost 11 us (2.9 s for a GiB; 0.4-1.8 s with huge pages). The heap is touched page by page as
 * it grows, so loading a 768 x 12 model and its first forward pass spent more time faulting than
 * multiplying. V8 reserves the heap's whole 4 GiB range up front (with guard regions), so one
 * madvise over it covers memory the heap grows into later.
 */
export function adviseHugeHeap(): boolean {
  if (advised) return true;
  const advise = nativeMemory()?.adviseHugePages;
  if (advise === undefined || tf.getBackend() !== "wasm") return false;
  const backend = tf.backend() as unknown as WasmBackend;
  advised = advise(backend.wasm.HEAPU8.buffer as ArrayBuffer, WASM32_MAX_BYTES);
  return advised;
}

/**
 * Have the next `bytes` of wasm heap allocations land on memory whose pages are being faulted in
 * on a background thread: a free block of that size is made on the heap (its allocator reuses it
 * for the tensors that follow) and populated off the main thread. Only on the wasm backend after
 * {@link adviseHugeHeap} succeeded (the native route); false otherwise.
 *
 * Why: the page faults of a model's weights and of the first forward pass's activations cost
 * 0.3-1.5 s of a 768 x 12 run on these virtual machines (see adviseHugeHeap); populating never
 * writes, so it is safe while the main thread reads weights into the same pages.
 */
export function prefaultHeap(bytes: number): boolean {
  const populate = nativeMemory()?.populateInBackground;
  if (!advised || populate === undefined || tf.getBackend() !== "wasm" || !(bytes > 0)) return false;
  const backend = tf.backend() as unknown as WasmBackend;
  const block = backend.makeOutput([Math.ceil(bytes / 4)], "float32");
  try {
    const at = backend.dataIdMap.get(block.dataId)!.memoryOffset;
    return populate(backend.wasm.HEAPU8.buffer as ArrayBuffer, at, 4 * Math.ceil(bytes / 4));
  } finally {
    backend.disposeData(block.dataId);
  }
}
