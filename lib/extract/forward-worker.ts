/**
 * Worker-thread entry of {@link ForwardPool}: its own tfjs instance and copy of the model,
 * running extraction batches. workerData: `{ dir, points, nativeMatmul, memory?, run? }` (points:
 * ExtractPoint[] or null; nativeMatmul: whether the thread that started the pool multiplies on
 * the native BLAS, so that the workers compute as it would; memory, run: this worker's budget in
 * bytes and openModel's run mode).
 * Messages (main -> worker): `{type: "batch", seq, tokenIds: Int32Array[], reuse: Float32Array[]}`
 * (reuse: an earlier batch's states, buffers transferred, filled again where they fit; the pool
 * ends a worker by terminating it);
 * (worker -> main): `{type: "ready", config, hfConfig, plan}`, `{type: "states", seq, states}` (buffers
 * transferred), `{type: "error", seq?, message}`.
 */
import { parentPort, workerData } from "worker_threads";
import { initBackend } from "../backend";
import { openLocalModel } from "../models/open";
import type { RunMode } from "../models/stream/plan";
import { batchStates } from "./batch";
import { pointStates, type ExtractPoint } from "./points";

type Incoming = { type: "batch"; seq: number; tokenIds: Int32Array[]; reuse?: Float32Array[] };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("forward-worker must run in a worker thread");
  const { dir, points, nativeMatmul, memory, run } = workerData as {
    dir: string; points: ExtractPoint[] | null; nativeMatmul: boolean; memory?: number; run?: RunMode;
  };
  await initBackend({ quiet: true, nativeMatmul });
  // This worker's share of the budget; the main thread tokenizes, so no tokenizer here.
  const model = openLocalModel(dir, { memory, run, noTokenizer: true });
  const layout = points === null ? undefined : pointStates(model.config.n_layers, points);
  // One batch at a time, in arrival order (the pool sends at most a few ahead).
  let queue = Promise.resolve();
  port.on("message", (msg: Incoming) => {
    queue = queue.then(async () => {
      try {
        const states = await batchStates(model, msg.tokenIds.map((tokenIds) => ({ tokenIds })), layout, msg.reuse);
        port.postMessage({ type: "states", seq: msg.seq, states }, [...new Set(states.map((s) => s.buffer as ArrayBuffer))]); // views of one buffer
      } catch (e) {
        port.postMessage({ type: "error", seq: msg.seq, message: e instanceof Error ? e.message : String(e) });
      }
    });
  });
  port.postMessage({ type: "ready", config: model.config, hfConfig: model.hfConfig, plan: model.plan });
}

main().catch((e) => {
  parentPort?.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
});
