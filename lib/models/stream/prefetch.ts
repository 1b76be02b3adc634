/**
 * Reading a streamed model's next block while the current one runs.
 *
 * Why: a streamed forward reads every block from the safetensors (TinyLlama: 2.2 GB of bf16 per
 * pass). Read in the forward's own thread, that time adds to the products'; read on a background
 * thread of the native addon into the next block's tensors, it runs on the core the forward's
 * single-threaded parts (norms, rotary, softmax, JavaScript) leave idle, and during the setup
 * before the first forward (tokenizing). The memory plan counts the second block
 * (lib/models/stream/plan.ts, `prefetch`), so this runs only where the budget holds two blocks.
 *
 * Only on the wasm backend with the addon's background reads; elsewhere `start` does nothing and
 * blocks are read when they run, as before. Values are the same either way (the same exact read).
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFloat32InBackground, type BackgroundReads } from "../../io/safetensors";
import { heapView, type WasmBackend } from "../../native/wasm-heap";
import type { OpenedCheckpoint } from "../load";
import { namesOfBlock } from "../read";

/** The float dtypes a background read widens. */
const READABLE = new Set(["F32", "F16", "BF16"]);

/** One block's tensors being read in the background. */
interface Pending {
  block: number;
  tensors: Map<string, tf.Tensor>;
  reads: BackgroundReads;
}

/** The next block of a streamed model, read ahead (see the file comment). */
export class BlockPrefetch {
  private pending: Pending | undefined;

  constructor(private readonly ck: OpenedCheckpoint) {}

  /**
   * Start reading block `l` into new float32 tensors (kept outside any tf.tidy), unless one is
   * already pending; false where background reads are unavailable.
   */
  start(l: number): boolean {
    if (this.pending !== undefined || tf.getBackend() !== "wasm") return false;
    const names = namesOfBlock(this.ck, l);
    const stored = names.map((name) => this.ck.tensors.get(name)!);
    if (stored.some((t) => !READABLE.has(t.dtype))) return false;
    const backend = tf.backend() as unknown as WasmBackend;
    const infos = stored.map((t) => backend.makeOutput([...t.shape], "float32"));
    let reads: BackgroundReads | undefined;
    try {
      // Views after every allocation: a growing heap replaces its buffer (not its memory).
      reads = readFloat32InBackground(stored.map((t, i) => [t, heapView(backend, infos[i])] as const));
    } finally {
      if (reads === undefined) infos.forEach((info) => backend.disposeData(info.dataId));
    }
    if (reads === undefined) return false;
    const tensors = new Map(names.map((name, i) => [name, tf.keep(tf.engine().makeTensorFromTensorInfo(infos[i]))] as const));
    this.pending = { block: l, tensors, reads };
    return true;
  }

  /**
   * Block `l`'s tensors by name when they were read ahead (after waiting for the read to end),
   * else undefined. The caller owns them: dispose them when the block has run. A pending read of
   * another block is dropped.
   */
  take(l: number): Map<string, tf.Tensor> | undefined {
    const p = this.pending;
    if (p === undefined) return undefined;
    this.pending = undefined;
    try {
      p.reads.wait();
    } catch (err) {
      tf.dispose([...p.tensors.values()]);
      throw err;
    }
    if (p.block === l) return p.tensors;
    tf.dispose([...p.tensors.values()]);
    return undefined;
  }

  /** Wait for a pending read and free its tensors (a read error is dropped with them). */
  cancel(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p === undefined) return;
    try {
      p.reads.wait();
    } catch {
      // nothing was going to use this block
    } finally {
      tf.dispose([...p.tensors.values()]);
    }
  }
}
