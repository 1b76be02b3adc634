/**
 * `linearity extract` against a float32 PyTorch forward, side by side in one run (issue 12).
 *
 *   npx tsx bench/extract-vs-torch.ts      (part of `npm run bench`; BENCH_SKIP_EXTRACT=1 skips it)
 *
 * A random-weight byte-level Llama (the architecture `linearity train` makes): d_model 768,
 * 12 blocks, 12 heads, d_mlp 2048 (85M parameters, OPT-125m's size), F32 weights. Timed:
 *   1. `node bin/linearity.js extract` as a whole process (start-up, loading, tokenizing the
 *      held-out Brown text, forward passes, writing float16 shards): 4,096 tokens, seq-len 128,
 *      batch 8 (uses dist/: run `npm run build` after changing lib/);
 *   2. bench/torch_llama_forward.py with Debian's python3-torch (OpenBLAS, 2 threads) on the
 *      same ids, all hidden states kept and copied out as float16: forward seconds and whole
 *      process.
 * The two alternate BENCH_ROUNDS times (default 2) and the best of each is compared, because
 * the machine is shared. A check compares state n_layers/2 of both (float16 storage).
 * Environment: BENCH_EXTRACT_TOKENS (4096), BENCH_EXTRACT_ARGS (extra extract flags, e.g.
 * "--workers 1"), BENCH_EXTRACT_INTHREAD=1 (also time `--workers 1` each round),
 * TORCH_PYTHON (/usr/bin/python3).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend";
import { nativeBlasStatus } from "../lib/native";
import { HiddenStateDataset } from "../lib/dataset/reader";
import { readNpyFloat32, writeNpy } from "../lib/io/npy";
import { saveCheckpoint } from "../lib/models/save";
import { initialStateDict, llamaHfConfig, type ModelSizes } from "../lib/train/model";
import { Rng } from "../lib/train/random";

const ROOT = path.resolve(__dirname, "..");
const TOKENS = Number(process.env.BENCH_EXTRACT_TOKENS ?? 4096);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SEQ_LEN = 128;
const BATCH = 8;
const PYTHON = process.env.TORCH_PYTHON ?? "/usr/bin/python3";
const SIZES: ModelSizes = {
  n_layers: 12, d_model: 768, n_heads: 12, n_kv_heads: 12, d_mlp: 2048, n_ctx: 2048,
  rope_theta: 10000, norm_eps: 1e-5, tie_word_embeddings: false,
};

const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" ");

/**
 * Wall and CPU seconds (user + system, all threads) of a child process, through bash's `time`;
 * throws with its stderr when it fails. CPU seconds depend far less on the machine's load.
 */
function timed(cmd: string, args: string[]): { seconds: number; cpu: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync("bash", ["-c", 'TIMEFORMAT="cpu %U %S"; time "$@"', "bash", cmd, ...args], {
    cwd: ROOT, encoding: "utf8", env: { ...process.env, LINEARITY_QUIET: "1" }, maxBuffer: 1 << 26,
  });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.error}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { seconds, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, stdout: r.stdout };
}

/** The batch-phase tokens/s `linearity extract` prints ("(4096 this run, 91 tokens/s)"). */
function batchRate(stdout: string): string {
  const m = /this run, (\d+) tokens\/s/.exec(stdout);
  return m ? `${m[1]} tokens/s in its batches` : "batch rate not printed";
}

function hasTorch(): boolean {
  const r = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" });
  return r.status === 0;
}

async function main(): Promise<void> {
  await initBackend({ quiet: true });
  if (!fs.existsSync(path.join(ROOT, "dist", "lib", "cli", "main.js"))) {
    console.log("extract-vs-torch: skipped (dist/ missing; run npm run build)");
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "extract-vs-torch-"));
  try {
    const model = path.join(tmp, "llama-768");
    const sd = initialStateDict(SIZES, new Rng(12));
    saveCheckpoint(model, llamaHfConfig(SIZES), sd, "F32");
    tf.dispose(Object.values(sd));
    const extraArgs = (process.env.BENCH_EXTRACT_ARGS ?? "").split(" ").filter((s) => s !== "");
    console.log(
      `\n== extraction vs PyTorch: byte-level Llama d_model 768, 12 blocks, d_mlp 2048, random F32 weights; ` +
        `${TOKENS} tokens of corpus:brown:heldout, seq-len ${SEQ_LEN}, batch ${BATCH}, float16 states ==`,
    );
    console.log(`load average at the start ${load()} on ${os.cpus().length} cores`);
    // linearity extract multiplies on the native BLAS when this says one loads (LINEARITY_NATIVE=0: wasm).
    console.log(`extract's products: ${nativeBlasStatus()}`);
    const torch = hasTorch();
    if (!torch) console.log(`notice: ${PYTHON} has no torch/numpy (apt install python3-torch); only extraction is timed`);

    let bestExtract = Infinity;
    let bestInThread = Infinity;
    let bestExtractCpu = Infinity;
    let bestInThreadCpu = Infinity;
    let bestTorchCpu = Infinity;
    let bestTorchForward = Infinity;
    let bestTorchProcess = Infinity;
    let dataset = "";
    let torchLast = "";
    for (let round = 0; round < ROUNDS; round++) {
      dataset = path.join(tmp, `ds-${round}`);
      const ex = timed(process.execPath, [
        "bin/linearity.js", "extract", "--model", model, "--text", "corpus:brown:heldout", "--out", dataset,
        "--max-tokens", String(TOKENS), "--seq-len", String(SEQ_LEN), "--batch-size", String(BATCH), "--dtype", "float16", ...extraArgs,
      ]);
      bestExtract = Math.min(bestExtract, ex.seconds);
      bestExtractCpu = Math.min(bestExtractCpu, ex.cpu);
      console.log(`round ${round + 1}: linearity extract ${(TOKENS / ex.seconds).toFixed(0)} tokens/s whole process (${ex.seconds.toFixed(1)} s, ${batchRate(ex.stdout)}); ${(TOKENS / ex.cpu).toFixed(0)} tokens per CPU-second; load ${load()}`);
      if (process.env.BENCH_EXTRACT_INTHREAD) {
        const one = timed(process.execPath, [
          "bin/linearity.js", "extract", "--model", model, "--text", "corpus:brown:heldout", "--out", path.join(tmp, `ds1-${round}`),
          "--max-tokens", String(TOKENS), "--seq-len", String(SEQ_LEN), "--batch-size", String(BATCH), "--dtype", "float16", "--workers", "1",
        ]);
        bestInThread = Math.min(bestInThread, one.seconds);
        bestInThreadCpu = Math.min(bestInThreadCpu, one.cpu);
        console.log(`round ${round + 1}: linearity extract --workers 1 ${(TOKENS / one.seconds).toFixed(0)} tokens/s whole process (${one.seconds.toFixed(1)} s, ${batchRate(one.stdout)}); ${(TOKENS / one.cpu).toFixed(0)} tokens per CPU-second; load ${load()}`);
      }
      if (!torch) continue;
      if (round === 0) {
        // The same ids as the extraction, [sequences, pos] int32.
        const ds = HiddenStateDataset.open(dataset);
        const ids = ds.tokenIds()!;
        writeNpy(path.join(tmp, "ids.npy"), { dtype: "int32", shape: [ids.length / SEQ_LEN, SEQ_LEN], data: ids });
      }
      torchLast = path.join(tmp, "torch-state.npy");
      const py = timed(PYTHON, [path.join("bench", "torch_llama_forward.py"), model, path.join(tmp, "ids.npy"), String(BATCH), "2", torchLast]);
      const res = JSON.parse(py.stdout.trim().split("\n").pop()!) as { tokens: number; forward_seconds: number; threads: number; torch: string };
      bestTorchForward = Math.min(bestTorchForward, res.forward_seconds);
      bestTorchProcess = Math.min(bestTorchProcess, py.seconds);
      bestTorchCpu = Math.min(bestTorchCpu, py.cpu);
      console.log(
        `round ${round + 1}: PyTorch ${res.torch} float32 (${res.threads} threads) forward ${(res.tokens / res.forward_seconds).toFixed(0)} tokens/s ` +
          `(${res.forward_seconds.toFixed(1)} s), whole process ${(res.tokens / py.seconds).toFixed(0)} tokens/s (${py.seconds.toFixed(1)} s); ${(res.tokens / py.cpu).toFixed(0)} tokens per CPU-second; load ${load()}`,
      );
    }
    const ours = TOKENS / bestExtract;
    console.log(`best of ${ROUNDS}: linearity extract ${ours.toFixed(0)} tokens/s (whole process, ${extraArgs.join(" ") || "default workers"}); ${(TOKENS / bestExtractCpu).toFixed(0)} tokens per CPU-second`);
    if (Number.isFinite(bestInThread)) {
      console.log(`best of ${ROUNDS}: linearity extract --workers 1 ${(TOKENS / bestInThread).toFixed(0)} tokens/s, ${(TOKENS / bestInThreadCpu).toFixed(0)} tokens per CPU-second; workers speed-up ${(bestInThread / bestExtract).toFixed(2)}x wall, CPU per token ${(bestExtractCpu / bestInThreadCpu).toFixed(2)}x`);
    }
    if (torch) {
      const tf32 = TOKENS / bestTorchForward;
      console.log(
        `best of ${ROUNDS}: PyTorch forward ${tf32.toFixed(0)} tokens/s, whole process ${(TOKENS / bestTorchProcess).toFixed(0)} tokens/s; ` +
          `extract / PyTorch forward = ${(ours / tf32).toFixed(2)} (target >= 0.5), extract / PyTorch whole process = ${(bestTorchProcess / bestExtract).toFixed(2)}; ` +
          `tokens per CPU-second: extract / PyTorch whole process = ${(bestTorchCpu / bestExtractCpu).toFixed(2)}`,
      );
      // Both computed the same thing: state n_layers/2 of every token, float16 in both.
      const ds = HiddenStateDataset.open(dataset);
      const mine = ds.rows(SIZES.n_layers / 2, 0, ds.nTokens);
      const theirs = readNpyFloat32(torchLast).data;
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < mine.length; i++) {
        worst = Math.max(worst, Math.abs(mine[i] - theirs[i]));
        scale = Math.max(scale, Math.abs(theirs[i]));
      }
      console.log(`check: state ${SIZES.n_layers / 2}, max |extract - PyTorch| ${worst.toExponential(2)} (max |value| ${scale.toFixed(2)})`);
    }
    console.log(`load average at the end ${load()}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`extract-vs-torch: ${(err as Error).message}`);
  process.exit(1);
});
