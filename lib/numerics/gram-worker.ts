/**
 * Worker-thread entry of {@link GramWorkerPool}: one tfjs-core + backend instance per worker
 * (chosen by lib/backend.ts as in the main thread), accumulating float64 partial sums of block
 * products. Messages (main -> worker): `{type: "block", states, r}`, `{type: "collect"}`;
 * (worker -> main): `{type: "ready"}`, `{type: "done"}`, `{type: "sums", keys, buffers}`,
 * `{type: "error", message}`. workerData: `{ plan: ProductPlan }`.
 */
import { parentPort, workerData } from "worker_threads";
import { initBackend } from "../backend";
import { BlockProducts, type ProductPlan } from "./block-products";

type Incoming = { type: "block"; states: (Float32Array | null)[]; r: number } | { type: "collect" };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("gram-worker must run in a worker thread");
  await initBackend({ quiet: true });
  const products = new BlockProducts((workerData as { plan: ProductPlan }).plan);
  port.on("message", (msg: Incoming) => {
    try {
      if (msg.type === "block") {
        products.add(msg.states, msg.r);
        port.postMessage({ type: "done" });
      } else if (msg.type === "collect") {
        const keys = [...products.sums.keys()];
        const buffers = keys.map((k) => products.sums.get(k)!);
        port.postMessage({ type: "sums", keys, buffers }, buffers.map((b) => b.buffer as ArrayBuffer));
        products.dispose();
      }
    } catch (e) {
      port.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
    }
  });
  port.postMessage({ type: "ready" });
}

main().catch((e) => {
  parentPort?.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) });
});
