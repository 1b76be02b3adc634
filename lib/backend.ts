/**
 * TensorFlow.js backend selection, done once per process.
 *
 * Order of preference: the native GPU binding, the native CPU binding, WebAssembly
 * (SIMD, single-threaded under Node), then the plain JavaScript CPU backend. The native bindings
 * are not dependencies of this package because their install step downloads libtensorflow;
 * users who can install them (`npm install @tensorflow/tfjs-node-gpu`) get them picked up here.
 *
 * Force a backend with `LINEARITY_BACKEND=tfjs-node-gpu|tfjs-node|wasm|cpu`.
 *
 * Native matrix products: with `initBackend({ nativeMatmul: true })` and the wasm backend, tf.matMul
 * and tf.fused.matMul run on the system BLAS when one loads (lib/native/wasm-matmul.ts, about 5x
 * wasm's speed), rotary and causal attention run as fused kernels (lib/native/wasm-fused.ts), and
 * the wasm heap asks for transparent huge pages (lib/native/wasm-heap.ts).
 * `linearity extract` and `linearity eval` ask for it: forward passes of a fixed
 * model, measured with tolerances. Everything else keeps the wasm kernels by default (training,
 * probes, notebooks, the library), because their outputs are compared digit for digit (notebook
 * outputs to 4 decimals, training runs bit for bit) and wasm's float32 rounding is the same on
 * every machine, while OpenBLAS's depends on the CPU's kernel and its thread count.
 * `LINEARITY_NATIVE=0` turns the native BLAS off everywhere.
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeBlasStatus } from "./native";
import { installFusedKernels } from "./native/wasm-fused";
import { adviseHugeHeap } from "./native/wasm-heap";
import { installNativeMatmul } from "./native/wasm-matmul";

/** The TensorFlow.js backends `initBackend` can choose, fastest first. */
export type BackendName = "tfjs-node-gpu" | "tfjs-node" | "wasm" | "cpu";

const ORDER: readonly BackendName[] = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"];

let chosen: Promise<BackendName> | undefined;
let printed = false;

/** Try to register one backend; resolves true when tfjs can use it. */
async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    switch (name) {
      case "tfjs-node-gpu":
      case "tfjs-node": {
        // Both register a backend called "tensorflow". Check the package really is the native
        // binding: danfojs-node's override aliases a pure-JS tfjs under the same name.
        const pkg = `@tensorflow/${name}`;
        const real = require(`${pkg}/package.json`).name === pkg;
        if (!real) return false;
        require(pkg);
        return tf.findBackend("tensorflow") !== undefined && (await tf.setBackend("tensorflow"));
      }
      case "wasm":
        require("@tensorflow/tfjs-backend-wasm");
        return await tf.setBackend("wasm");
      case "cpu":
        require("@tensorflow/tfjs-backend-cpu");
        return await tf.setBackend("cpu");
    }
  } catch {
    return false;
  }
}

async function choose(): Promise<BackendName> {
  const forced = process.env.LINEARITY_BACKEND;
  if (forced !== undefined && forced !== "") {
    if (!(ORDER as readonly string[]).includes(forced)) {
      throw new Error(
        `LINEARITY_BACKEND: expected one of ${ORDER.join(", ")}, got '${forced}'`,
      );
    }
    if (!(await tryBackend(forced as BackendName))) {
      throw new Error(`LINEARITY_BACKEND=${forced}: that backend could not be loaded here`);
    }
    return forced as BackendName;
  }
  for (const name of ORDER) {
    if (await tryBackend(name)) return name;
  }
  throw new Error("no TensorFlow.js backend could be loaded (tried " + ORDER.join(", ") + ")");
}

/** Options of {@link initBackend}. */
export interface BackendOptions {
  /** Do not print the backend line to stderr. */
  quiet?: boolean;
  /**
   * Run tf.matMul / tf.fused.matMul on the native BLAS when the backend is wasm and a BLAS loads
   * (see the file comment for where this applies). Once installed it stays for the thread.
   */
  nativeMatmul?: boolean;
}

/**
 * Pick and initialise the backend (once; later calls return the same answer, and install the
 * native matmul kernels if they ask for them). Prints the choice once to stderr so stdout stays
 * clean for CLI output; pass `quiet` to skip the message.
 */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendName> {
  if (chosen === undefined) {
    chosen = choose().then(async (name) => {
      await tf.ready();
      return name;
    });
  }
  const name = await chosen;
  // The fused inference kernels (rotary, attention) come with the native products.
  const native = opts.nativeMatmul === true && name === "wasm" && installNativeMatmul();
  if (native) {
    installFusedKernels();
    adviseHugeHeap();
  }
  if (!printed && !opts.quiet && !process.env.LINEARITY_QUIET) {
    printed = true;
    process.stderr.write(`linearity-lab: TensorFlow.js backend '${name}'${native ? " (matmul on native BLAS)" : ""}; ${nativeBlasStatus()}\n`);
  }
  return name;
}
