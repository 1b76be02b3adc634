/**
 * Forward speed of each model family on this machine's tfjs backend, at small realistic sizes,
 * plus the cost of a Llama training step (forward + backward) and of one dense layer's backward
 * with the explicit-transpose matmul versus tf.matMul's own gradient, and the attention products
 * (batchedMatmul, a depthwise convolution on wasm) against tf.matMul's batched product.
 *
 *   npx tsx bench/models-forward.ts [--d-model 128,256] [--n-layers 4] [--batch 4] [--pos 128]
 *
 * Checkpoints are random (scripts/make-tiny-checkpoints.ts) in a temp folder; only speed is measured.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend";
import { ensureGradients } from "../lib/models/common/gradients";
import { batchedMatmul, linear } from "../lib/models/common/matmul";
import { weightsFromHf } from "../lib/models/family";
import { LLAMA } from "../lib/models/llama/family";
import { llamaForward } from "../lib/models/llama/forward";
import { mapWeights } from "../lib/models/roles";
import { loadModel } from "../lib/models/load";
import { readSafetensors } from "../lib/io/safetensors";
import type { StateDict } from "../lib/models/types";
import { tinyVariants, writeVariant } from "../scripts/make-tiny-checkpoints";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Median seconds of `reps` runs after one warm-up. */
function time(fn: () => void, reps = 3): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    fn();
    t.push((performance.now() - start) / 1000);
  }
  return t.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

async function main(): Promise<void> {
  const backend = await initBackend({ quiet: true });
  ensureGradients();
  const widths = arg("--d-model", "128,256").split(",").map(Number);
  const nLayers = Number(arg("--n-layers", "4"));
  const batch = Number(arg("--batch", "4"));
  const nPos = Number(arg("--pos", "128"));
  const tokens = batch * nPos;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-bench-"));
  // Other processes share the cores: the load average says how much to trust the figures.
  console.log(`backend ${backend}; batch ${batch} x pos ${nPos} = ${tokens} tokens; n_layers ${nLayers}; ` +
    `${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  try {
    for (const d of widths) {
      const sizes = { n_layers: nLayers, d_model: d, n_heads: d / 32, d_mlp: 4 * d, n_ctx: Math.max(nPos, 64) };
      for (const v of tinyVariants(sizes).filter((x) => ["llama-gqa", "gpt2", "opt", "neox", "qwen2"].includes(x.name))) {
        const dir = writeVariant(path.join(root, `${v.name}-${d}`), v);
        const model = loadModel(dir);
        const ids = tf.randomUniform([batch, nPos], 0, model.config.d_vocab, "int32") as tf.Tensor2D;
        const run = (logits: boolean) => () => {
          const out = model.forward(ids, { logits });
          out.hiddenStates[out.hiddenStates.length - 1].dataSync();
          tf.dispose([...out.hiddenStates, out.residPreFinalNorm, ...(out.logits ? [out.logits] : [])]);
        };
        const s = time(run(false));
        const sl = time(run(true));
        console.log(`${v.name.padEnd(10)} d_model ${String(d).padStart(4)}  forward ${(tokens / s).toFixed(0).padStart(7)} tokens/s  (with logits, d_vocab ${model.config.d_vocab}: ${(tokens / sl).toFixed(0)} tokens/s)`);
        if (v.name === "llama-gqa") {
          // Training step: forward + backward over every weight, cross-entropy loss.
          const st = readSafetensors(path.join(dir, "model.safetensors"));
          const sd: StateDict = {};
          for (const n of st.names) sd[n] = tf.tensor(st.tensors[n].read(), st.tensors[n].shape);
          const vars = mapWeights(weightsFromHf(LLAMA, model.config, sd), (t) => tf.variable(t));
          const step = () => {
            const { value, grads } = tf.variableGrads(() =>
              tf.tidy(() => {
                const logits = llamaForward(model.config, vars, ids).logits!;
                return tf.neg(tf.mean(tf.max(tf.logSoftmax(logits), -1))) as tf.Scalar;
              }),
            );
            value.dataSync();
            tf.dispose([value, ...Object.values(grads)]);
          };
          const ts = time(step);
          console.log(`${"".padEnd(10)} d_model ${String(d).padStart(4)}  train step (fwd+bwd) ${(tokens / ts).toFixed(0).padStart(7)} tokens/s`);
          tf.dispose(Object.values(sd));
        }
        ids.dispose();
        model.dispose();
      }
      // One dense layer, forward + backward: explicit-transpose gradients vs tf.matMul's.
      const x = tf.randomNormal([tokens, d]);
      const w = tf.randomNormal([d, 4 * d]) as tf.Tensor2D;
      const g1 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(linear(a, b as tf.Tensor2D)));
      const g2 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a, b)));
      const mine = time(() => tf.dispose(g1([x, w]).map((g) => (g.dataSync(), g))), 5);
      const theirs = time(() => tf.dispose(g2([x, w]).map((g) => (g.dataSync(), g))), 5);
      console.log(`dense [${tokens}, ${d}] x [${d}, ${4 * d}] fwd+bwd: explicit-transpose ${(mine * 1000).toFixed(1)} ms, tf.matMul grads ${(theirs * 1000).toFixed(1)} ms (${(theirs / mine).toFixed(1)}x)`);
      tf.dispose([x, w]);
    }
    // Attention products of a 768-wide, 12-head layer on batch 8 x pos 128: scores and weighted
    // values, forward, and forward + backward.
    const [g, p, dh] = [96, 128, 64];
    const q = tf.randomNormal([g, p, dh]) as tf.Tensor3D;
    const kT = tf.randomNormal([g, dh, p]) as tf.Tensor3D;
    const probs = tf.randomNormal([g, p, p]) as tf.Tensor3D;
    const v = tf.randomNormal([g, p, dh]) as tf.Tensor3D;
    const both = (f: (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor) => () => tf.tidy(() => {
      f(q, kT).dataSync();
      f(probs, v).dataSync();
    });
    const grads = (f: (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor) => () => tf.tidy(() => {
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(f(a as tf.Tensor3D, b as tf.Tensor3D)))([q, kT]).forEach((t) => t.dataSync());
    });
    const grouped = time(both(batchedMatmul), 5);
    const batched = time(both((a, b) => tf.matMul(a, b)), 5);
    const groupedG = time(grads(batchedMatmul), 3);
    const batchedG = time(grads((a, b) => tf.matMul(a, b)), 3);
    console.log(`attention products [${g}, ${p}, ${dh}] x [${g}, ${dh}, ${p}] and [${g}, ${p}, ${p}] x [${g}, ${p}, ${dh}]: batchedMatmul ${(grouped * 1000).toFixed(0)} ms, ` +
      `tf.matMul ${(batched * 1000).toFixed(0)} ms (${(batched / grouped).toFixed(1)}x); scores fwd+bwd ${(groupedG * 1000).toFixed(0)} ms vs ${(batchedG * 1000).toFixed(0)} ms (${(batchedG / groupedG).toFixed(1)}x); load ${os.loadavg()[0].toFixed(1)}`);
    tf.dispose([q, kT, probs, v]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
