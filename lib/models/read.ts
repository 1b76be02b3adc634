/**
 * Reading an opened checkpoint's weights by part, each converted to float32 just before use:
 * one block, the head, rows of the vocabulary tables. The whole-model loader and the streamed
 * runner both read through here, so a block is read the same way in both.
 */
import * as tf from "@tensorflow/tfjs-core";
import { isStoredLayout, READ_ON_USE, STORED_LAYOUT } from "./common/read-on-use";
import type { SafetensorsTensor } from "../io/safetensors";
import { storedTensor } from "./common/stored-tensor";
import { parseBlockName, type HeadWeights } from "./family";
import type { OpenedCheckpoint } from "./load";
import type { BlockWeights } from "./roles";
import type { StateDict } from "./types";

/** A tensor of the checkpoint as float32, read now (F16/BF16 decoded exactly). */
export function readWeight(ck: OpenedCheckpoint, name: string): tf.Tensor {
  const t = ck.tensors.get(name);
  if (t === undefined) throw new Error(`${ck.dir}: no tensor '${name}'`);
  return storedTensor(t); // on wasm, F16/BF16 decoded straight into the tensor's memory
}

/** Rows start..end of a [rows, cols] tensor of the checkpoint as float32 [end - start, cols]. */
export function readRows(ck: OpenedCheckpoint, name: string, start: number, end: number): tf.Tensor2D {
  return tf.tensor2d(readRowValues(ck, name, start, end), [end - start, matrixOf(ck, name).shape[1]]);
}

/** Rows start..end of a [rows, cols] tensor of the checkpoint as float32 values ([end - start, cols] row-major), no tensor made. */
export function readRowValues(ck: OpenedCheckpoint, name: string, start: number, end: number): Float32Array {
  const t = matrixOf(ck, name);
  const cols = t.shape[1];
  return t.readRange(start * cols, end * cols);
}

function matrixOf(ck: OpenedCheckpoint, name: string): SafetensorsTensor {
  const t = ck.tensors.get(name);
  if (t === undefined || t.shape.length !== 2) throw new Error(`${ck.dir}: no matrix '${name}'`);
  return t;
}

const blockNames = new WeakMap<OpenedCheckpoint, Map<number, string[]>>();

/** Canonical names of block l's tensors (a pruned folder's linear block: its .linear tensors). */
export function namesOfBlock(ck: OpenedCheckpoint, l: number): readonly string[] {
  let index = blockNames.get(ck);
  if (index === undefined) {
    index = new Map();
    for (const name of ck.tensors.keys()) {
      const b = parseBlockName(ck.family, name);
      if (b !== undefined) index.set(b.block, [...(index.get(b.block) ?? []), name]);
    }
    blockNames.set(ck, index);
  }
  return index.get(l) ?? [];
}

/** Bytes of block l's weights once converted to float32 (what it occupies while it runs). */
export function blockFloat32Bytes(ck: OpenedCheckpoint, l: number): number {
  return namesOfBlock(ck, l).reduce((n, name) => n + 4 * ck.tensors.get(name)!.shape.reduce((a, b) => a * b, 1), 0);
}

/** Bytes of every weight of the checkpoint once converted to float32. */
export function modelFloat32Bytes(ck: OpenedCheckpoint): number {
  let n = 0;
  for (const t of ck.tensors.values()) n += 4 * t.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** How a streamed forward wants a block's weights (lib/models/common/read-on-use.ts). */
export interface BlockReadOptions {
  /** Keep nn.Linear weights in their stored [out, in] layout (products on the native BLAS): no transposed copy. */
  storedLayout?: boolean;
}

/**
 * Block l's weights by role, read from disk now. Each tensor is read when the family's converter
 * asks for it, and the raw float32 copy of the one before is freed then: the converters use each
 * checkpoint tensor once and keep only what they make of it (a transpose, a split, a clone that
 * shares its data), so a block costs its converted weights plus one raw tensor at most.
 */
export function readBlock(ck: OpenedCheckpoint, l: number, opts: BlockReadOptions = {}): BlockWeights {
  const { sd, read } = blockStateDict(ck, l, { ...opts, onUse: false });
  try {
    return ck.family.blockFromHf(ck.config, sd, l);
  } finally {
    releaseRead(read);
  }
}

/**
 * Block l's weights for running it tensor by tensor: norms and biases are read now, each
 * projection only when the block's code first uses it, and freed after its product
 * (lib/models/common/read-on-use.ts). The stored copy of the tensor read before is freed when the
 * next is read, as in {@link readBlock}. Call inside a tf.tidy that spans the block's run: the
 * tensors read during the run belong to it.
 */
export function readBlockOnUse(ck: OpenedCheckpoint, l: number, opts: BlockReadOptions = {}): BlockWeights {
  return ck.family.blockFromHf(ck.config, blockStateDict(ck, l, { ...opts, onUse: true }).sd, l);
}

/**
 * Block l's tensors as a state dict read on access (each read frees the stored tensor read before
 * it), answering the read-on-use and stored-layout marks; `read` holds what is not freed yet.
 */
function blockStateDict(ck: OpenedCheckpoint, l: number, opts: BlockReadOptions & { onUse: boolean }): { sd: StateDict; read: tf.Tensor[] } {
  const names = new Set(namesOfBlock(ck, l));
  const read: tf.Tensor[] = [];
  const sd = new Proxy({} as StateDict, {
    get: (_target, name) => {
      if (name === READ_ON_USE) return opts.onUse;
      if (name === STORED_LAYOUT) return opts.storedLayout === true;
      if (typeof name !== "string" || !names.has(name)) return undefined;
      releaseRead(read); // the previous raw tensor has been converted by now
      const t = readWeight(ck, name);
      read.push(t);
      return t;
    },
  });
  return { sd, read };
}

/**
 * Free the stored tensors read so far, but those kept as weights in their stored layout (they are
 * the block's weights now: freed with the block, or by their product when read on use).
 */
function releaseRead(read: tf.Tensor[]): void {
  tf.dispose(read.splice(0).filter((t) => !isStoredLayout(t)));
}

/**
 * Bytes block l needs at most at one time when read tensor by tensor: its largest projection
 * twice (the stored copy and its transpose) plus every tensor of at most one axis (norms, biases:
 * read with the block).
 */
export function blockOnUseBytes(ck: OpenedCheckpoint, l: number): number {
  let vectors = 0;
  for (const name of namesOfBlock(ck, l)) {
    const shape = ck.tensors.get(name)!.shape;
    if (shape.length <= 1) vectors += 4 * shape.reduce((a, b) => a * b, 1);
  }
  return 2 * largestTensorBytes(ck, l) + vectors;
}

/** Bytes of the largest single tensor of block l in float32 (the raw copy a conversion holds at most). */
export function largestTensorBytes(ck: OpenedCheckpoint, l: number): number {
  return Math.max(0, ...namesOfBlock(ck, l).map((name) => 4 * ck.tensors.get(name)!.shape.reduce((a, b) => a * b, 1)));
}

/**
 * Stand-in weights (zeros) for a pruned folder's linear block l, which holds no weights of its
 * own; never read, since an override computes the block.
 */
export function placeholderBlock(ck: OpenedCheckpoint, l: number): BlockWeights {
  const sd: StateDict = {};
  try {
    for (const [name, shape] of ck.family.weightSpec(ck.config).required) {
      if (parseBlockName(ck.family, name)?.block === l) sd[name] = tf.zeros([...shape]);
    }
    return ck.family.blockFromHf(ck.config, sd, l);
  } finally {
    tf.dispose(Object.values(sd));
  }
}

/** The head weights (positions, projections, final norm): every tensor outside the blocks but the vocabulary tables. */
export function readHead(ck: OpenedCheckpoint): HeadWeights {
  const sd: StateDict = {};
  try {
    for (const name of ck.tensors.keys()) {
      if (name === ck.family.embedName || name === ck.family.unembedName || parseBlockName(ck.family, name) !== undefined) continue;
      sd[name] = readWeight(ck, name);
    }
    return ck.family.headFromHf(ck.config, sd);
  } finally {
    tf.dispose(Object.values(sd));
  }
}
