/**
 * Worker threads for the float32 block products of {@link GramAccumulator}: tfjs-wasm runs one
 * thread under Node, so a second core is used by running a second tfjs instance in a worker.
 * Blocks go to whichever worker has room (at most {@link MAX_IN_FLIGHT} queued each); each worker
 * keeps float64 partial sums, which `collect()` returns (they simply add to the main thread's).
 *
 * Idle workers are unref'd, so an accumulator that is dropped without `resultAsync()` never keeps
 * the process alive; `terminate()` (called by collect and on any error) ends them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import type { ProductPlan } from "./block-products";

/** Worker count when neither the option nor LINEARITY_WORKERS is set (1 = in-thread; see docs/tensor.md). */
export const DEFAULT_WORKERS = 1;

/** Blocks queued per worker before `submit` waits (one running, one ready to go). */
export const MAX_IN_FLIGHT = 2;

/**
 * Number of worker threads to use. `requested` (an option) wins, then env LINEARITY_WORKERS,
 * then {@link DEFAULT_WORKERS} (in-thread). 0 and 1 mean in-thread. Throws on a value that is not a
 * non-negative integer.
 */
export function workerCount(requested?: number): number {
  const env = process.env.LINEARITY_WORKERS;
  if (requested === undefined && env !== undefined && env.trim() !== "") {
    if (!/^\d+$/.test(env.trim())) throw new Error(`LINEARITY_WORKERS: expected a non-negative integer, got '${env}'`);
    return Number(env.trim());
  }
  if (requested !== undefined) {
    if (!(Number.isInteger(requested) && requested >= 0)) throw new Error(`workers: expected a non-negative integer, got ${requested}`);
    return requested;
  }
  // Default in-thread: on the shared 2-core machine where this was measured, 2 workers were
  // 0.8x the in-thread speed (docs/tensor.md), so they are opt-in until that is understood.
  void os;
  return DEFAULT_WORKERS;
}

/** True when the worker count is forced (option or LINEARITY_WORKERS), false when it is the default. */
export function workerCountForced(requested?: number): boolean {
  return requested !== undefined || (process.env.LINEARITY_WORKERS ?? "").trim() !== "";
}

/**
 * Start a worker running gram-worker: the compiled .js sibling when it exists (dist/), else the
 * TypeScript source through tsx's CommonJS hook (vitest, tsx).
 */
function startWorker(plan: ProductPlan): Worker {
  const js = path.join(__dirname, "gram-worker.js");
  if (fs.existsSync(js)) return new Worker(js, { workerData: { plan } });
  const ts = path.join(__dirname, "gram-worker.ts");
  if (!fs.existsSync(ts)) throw new Error(`worker script not found: neither ${js} nor ${ts}`);
  const tsx = require.resolve("tsx/cjs/api");
  const code = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(ts)});`;
  return new Worker(code, { eval: true, workerData: { plan } });
}

interface Slot {
  worker: Worker;
  ready: boolean;
  inFlight: number;
  used: boolean;
  onSums?: (sums: Map<string, Float64Array>) => void;
}

/** A set of worker threads accumulating block products for one accumulator. */
export class GramWorkerPool {
  private readonly slots: Slot[];
  private failure: Error | undefined;
  private waiters: (() => void)[] = [];
  private closed = false;
  /** Blocks sent to workers so far (diagnostics, tests). */
  blocksSent = 0;

  /** Start `n` workers (returns at once; they become ready in the background). `fn` names errors. */
  constructor(n: number, plan: ProductPlan, private readonly fn: string) {
    this.slots = [];
    for (let k = 0; k < n; k++) {
      const slot: Slot = { worker: startWorker(plan), ready: false, inFlight: 0, used: false };
      slot.worker.unref();
      slot.worker.on("message", (msg: { type: string; message?: string; keys?: string[]; buffers?: Float64Array[] }) => {
        if (msg.type === "ready") slot.ready = true;
        else if (msg.type === "done") {
          slot.inFlight--;
          if (slot.inFlight === 0 && !slot.onSums) slot.worker.unref(); // idle: never keep the process alive
        } else if (msg.type === "sums") {
          const sums = new Map<string, Float64Array>();
          msg.keys!.forEach((key, i) => sums.set(key, msg.buffers![i]));
          slot.onSums?.(sums);
        } else if (msg.type === "error") this.fail(new Error(`${this.fn}: worker thread failed: ${msg.message}`));
        this.wake();
      });
      slot.worker.on("error", (e) => this.fail(new Error(`${this.fn}: worker thread failed: ${e.message}`)));
      slot.worker.on("exit", (code) => {
        if (!this.closed) this.fail(new Error(`${this.fn}: worker thread exited unexpectedly (exit code ${code})`));
      });
      this.slots.push(slot);
    }
  }

  /** Number of workers. */
  get size(): number {
    return this.slots.length;
  }

  /** True once at least one worker can take blocks. */
  get anyReady(): boolean {
    this.throwIfFailed();
    return this.slots.some((s) => s.ready);
  }

  /** The worker threads (for tests that simulate a crash). */
  get workers(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.failure ??= e;
    void this.terminate();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error(`${this.fn}: the worker threads were already stopped`);
  }

  /**
   * Send one block of shifted rows to the first ready worker with room, waiting if every
   * worker is busy. The buffers are transferred (unusable here afterwards).
   */
  async submit(states: (Float32Array | null)[], r: number): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      const slot = this.slots.filter((s) => s.ready && s.inFlight < MAX_IN_FLIGHT).sort((a, b) => a.inFlight - b.inFlight)[0];
      if (slot) {
        slot.inFlight++;
        slot.used = true;
        this.blocksSent++;
        slot.worker.ref();
        const transfer = states.filter((s): s is Float32Array => s !== null).map((s) => s.buffer as ArrayBuffer);
        slot.worker.postMessage({ type: "block", states, r }, transfer);
        return;
      }
      await this.wait();
    }
  }

  /** Wait for every queued block, return each used worker's float64 sums, stop all workers. */
  async collect(): Promise<Map<string, Float64Array>[]> {
    try {
      const used = this.slots.filter((s) => s.used);
      const all = used.map(
        (slot) =>
          new Promise<Map<string, Float64Array>>((resolve) => {
            slot.onSums = resolve;
            slot.worker.ref();
            slot.worker.postMessage({ type: "collect" });
          }),
      );
      // Resolve with the sums, or reject as soon as the pool fails.
      const failed = new Promise<never>((_, reject) => {
        const check = () => (this.failure ? reject(this.failure) : this.waiters.push(check));
        check();
      });
      return await Promise.race([Promise.all(all), failed]);
    } finally {
      await this.terminate();
    }
  }

  /** Stop every worker (idempotent). */
  async terminate(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
