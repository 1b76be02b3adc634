/**
 * Worker-thread entry of {@link ForwardPool}: its own tfjs instance and copy of the model,
 * running extraction batches. workerData: `{ dir, points, nativeMatmul }` (points: ExtractPoint[]
 * or null; nativeMatmul: whether the thread that started the pool multiplies on the native BLAS,
 * so that the workers compute as it would).
 * Messages (main -> worker): `{type: "batch", seq, tokenIds: Int32Array[]}` (the pool ends a
 * worker by terminating it);
 * (worker -> main): `{type: "ready", config, hfConfig}`, `{type: "states", seq, states}` (buffers
 * transferred), `{type: "error", seq?, message}`.
 */
import { parentPort, workerData } from "worker_threads";
import { initBackend } from "../backend";
import { loadModel } from "../models/load";
import { batchStates } from "./batch";
import { pointStates, type ExtractPoint } from "./points";

type Incoming = { type: "batch"; seq: number; tokenIds: Int32Array[] };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("forward-worker must run in a worker thread");
  const { dir, points, nativeMatmul } = workerData as { dir: string; points: ExtractPoint[] | null; nativeMatmul: boolean };
  await initBackend({ quiet: true, nativeMatmul });
  const model = loadModel(dir);
  const layout = points === null ? undefined : pointStates(model.config.n_layers, points);
  // One batch at a time, in arrival order (the pool sends at most a few ahead).
  let queue = Promise.resolve();
  port.on("message", (msg: Incoming) => {
    queue = queue.then(async () => {
      try {
        const states = await batchStates(model, msg.tokenIds.map((tokenIds) => ({ tokenIds })), layout);
        port.postMessage({ type: "states", seq: msg.seq, states }, states.map((s) => s.buffer as ArrayBuffer));
      } catch (e) {
        port.postMessage({ type: "error", seq: msg.seq, message: e instanceof Error ? e.message : String(e) });
      }
    });
  });
  port.postMessage({ type: "ready", config: model.config, hfConfig: model.hfConfig });
}

main().catch((e) => {
  parentPort?.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
});
