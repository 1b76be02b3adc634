/**
 * Extraction on several cores: tfjs-wasm runs one thread under Node (its threaded build is disabled
 * when IS_NODE: tfjs issue 3830), so each worker
 * thread holds its own tfjs instance and copy of the model and runs whole batches; the main
 * thread tokenizes, hands batches out and writes the results in order.
 *
 * Workers multiply on the native BLAS when the starting thread does (lib/native/wasm-matmul.ts).
 * Then the BLAS's own threads would compete with the
 * workers for the same cores, so while a pool runs the (process-wide) BLAS thread count is
 * divided among its workers, one thread each on a 2-core machine, and restored when it closes.
 */
import * as fs from "fs";
import * as path from "path";
import { Worker } from "worker_threads";
import type { DecoderConfig } from "../models/config";
import type { MemoryPlan, RunMode } from "../models/stream/plan";
import { nativeBlas } from "../native";
import { nativeMatmulInstalled } from "../native/wasm-matmul";
import type { ExtractPoint } from "./points";

/**
 * Worker threads `linearity extract` uses by default: with the native BLAS, one (the main thread,
 * its products on every BLAS thread); on the wasm kernels alone, one per core, at most 2
 * (docs/extraction.md, "Workers, measured": on a quiet 2-core AMD EPYC one thread was 1.33x two
 * workers with the native BLAS; two workers won only on a machine loaded by other work).
 */
export function defaultExtractWorkers(cores: number, nativeBlasLoaded = nativeBlas() !== undefined): number {
  return nativeBlasLoaded ? 1 : Math.max(1, Math.min(2, cores));
}

/** The compiled .js worker when it exists (dist/), else the TypeScript source through tsx (vitest, tsx). */
function startWorker(data: { dir: string; points: ExtractPoint[] | null; nativeMatmul: boolean; memory?: number; run?: RunMode }): Worker {
  const js = path.join(__dirname, "forward-worker.js");
  if (fs.existsSync(js)) return new Worker(js, { workerData: data });
  const ts = path.join(__dirname, "forward-worker.ts");
  if (!fs.existsSync(ts)) throw new Error(`worker script not found: neither ${js} nor ${ts}`);
  const tsx = require.resolve("tsx/cjs/api");
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(ts)});`, { eval: true, workerData: data });
}

/**
 * Give each of `workers` threads an equal share (at least 1) of the native BLAS's threads; returns
 * the function that restores the previous count. Does nothing unless matmuls run on the native BLAS.
 */
function shareBlasThreads(workers: number): () => void {
  const blas = nativeBlas();
  if (blas === undefined || !nativeMatmulInstalled()) return () => undefined;
  const before = blas.threads();
  blas.setThreads(Math.max(1, Math.floor(before / workers)));
  return () => blas.setThreads(before);
}

interface Pending {
  resolve: (states: Float32Array[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

type Message =
  | { type: "ready"; config: DecoderConfig; hfConfig: Record<string, unknown>; plan: MemoryPlan }
  | { type: "states"; seq: number; states: Float32Array[] }
  | { type: "error"; seq?: number; message: string };

/** Worker threads that each load the model once and run extraction batches. */
export class ForwardPool {
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 0;
  private closed = false;
  private failure: Error | undefined;

  private constructor(
    private readonly slots: Slot[],
    readonly config: DecoderConfig,
    readonly hfConfig: Record<string, unknown>,
    private readonly restoreBlas: () => void,
    /** Each worker's memory plan (whole or streamed, under its share of the budget). */
    readonly plan: MemoryPlan,
  ) {}

  /** True when the workers stream the weights block by block. */
  get streamed(): boolean {
    return this.plan.mode === "streamed";
  }

  /**
   * Start `n` workers on the model folder `dir` and wait until every one has opened it, each
   * under `model.memory` bytes (whole or streamed as openModel decides for that budget). A
   * loading error (bad config, missing weights, a block past the budget) is thrown with the
   * loader's own message.
   */
  static async start(
    dir: string,
    n: number,
    points: readonly ExtractPoint[] | undefined,
    model: { memory?: number; run?: RunMode } = {},
  ): Promise<ForwardPool> {
    const restoreBlas = shareBlasThreads(n);
    const slots: Slot[] = [];
    const ready: Promise<{ config: DecoderConfig; hfConfig: Record<string, unknown>; plan: MemoryPlan }>[] = [];
    let pool: ForwardPool | undefined;
    for (let k = 0; k < n; k++) {
      const worker = startWorker({ dir, points: points === undefined ? null : [...points], nativeMatmul: nativeMatmulInstalled(), ...model });
      const slot: Slot = { worker, busy: 0 };
      slots.push(slot);
      ready.push(
        new Promise((resolve, reject) => {
          worker.on("message", (msg: Message) => {
            if (msg.type === "ready") resolve(msg);
            else if (msg.type === "error" && msg.seq === undefined) reject(new Error(msg.message));
            else pool?.onMessage(msg);
          });
          worker.on("error", (e) => (pool ? pool.fail(e) : reject(e)));
          worker.on("exit", (code) => {
            const e = new Error(`extract: worker thread exited unexpectedly (exit code ${code})`);
            if (pool) {
              if (!pool.closed) pool.fail(e);
            } else reject(e);
          });
        }),
      );
    }
    try {
      const [first] = await Promise.all(ready);
      pool = new ForwardPool(slots, first.config, first.hfConfig, restoreBlas, first.plan);
      return pool;
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      restoreBlas();
      throw e;
    }
  }

  /** Number of worker threads. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * States of one batch (see batchStates), computed by the least busy worker. `reuse`: an earlier
   * batch's states, done with: their buffers move to the worker, which fills them in place where
   * they fit (they are unusable here afterwards).
   */
  run(tokenIds: readonly Int32Array[], reuse?: readonly Float32Array[]): Promise<Float32Array[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error("extract: the worker pool is closed"));
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const seq = this.nextSeq++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (states) => {
          slot.busy--;
          resolve(states);
        },
        reject: (e) => {
          slot.busy--;
          reject(e);
        },
      });
      // Copies, so the caller's sequences stay usable (ids are small next to the states).
      const buffers = [...new Set((reuse ?? []).map((r) => r.buffer))].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0);
      slot.worker.postMessage({ type: "batch", seq, tokenIds: tokenIds.map((t) => Int32Array.from(t)), reuse: reuse ?? [] }, buffers);
    });
  }

  /** Stop the workers (pending batches are rejected). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error("extract: the worker pool was closed"));
    this.pending.clear();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.restoreBlas();
  }

  private onMessage(msg: Message): void {
    if (msg.type === "states" || (msg.type === "error" && msg.seq !== undefined)) {
      const p = this.pending.get(msg.seq!);
      if (!p) return;
      this.pending.delete(msg.seq!);
      if (msg.type === "states") p.resolve(msg.states);
      else p.reject(new Error(msg.message));
    } else if (msg.type === "error") this.fail(new Error(msg.message));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
