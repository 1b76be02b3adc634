/**
 * `npm run bench:big`: whole-process speed and peak memory of `linearity extract` on models of
 * real shapes, side by side in one run with a float32 PyTorch forward where PyTorch can load the
 * model, and the BLAS's float32 roofline measured in the same run (issue 18, item 5). Never in
 * CI: it writes a 13.5 GB checkpoint and runs for tens of minutes.
 *
 *   npm run bench:big       (npm run build first: the extraction runs dist/ through bin/linearity.js)
 *
 * Cases (BENCH_BIG_CASES, comma-separated; default all), each on `corpus:brown:heldout`, seq-len
 * 128, batch 8, float16 states, and its target:
 *   - llama-768x12: random F32 byte-level Llama, d_model 768, 12 blocks, d_mlp 2,048 (85M, as
 *     bench/extract-vs-torch.ts), 4,096 tokens: tokens/s >= 1.5x PyTorch's forward.
 *   - tinyllama-1.1b: random bf16 TinyLlama shape (scripts/make-big-checkpoints.ts), 512 tokens:
 *     tokens/s >= 1.0x PyTorch's forward at <= 0.5x PyTorch's peak RSS.
 *   - llama-2-7b: random bf16 Llama-2-7B shape, 1,024 tokens: tokens/s >= 0.4 x roofline /
 *     (2 x non-embedding parameters), peak RSS <= 4 GiB. PyTorch is skipped: float32 needs 27 GB.
 *   - mistral-7b: the same measure and bar on the Mistral-7B shape (GQA, MLP 14,336, sliding
 *     window 4,096, inert at seq-len 128); reported beside Llama-2-7B, not an issue target.
 * Each case runs BENCH_ROUNDS rounds (default 3), alternating the two programs so a change of
 * load hits both, and reports best and median with the load average. Tokens/s are whole process
 * for `linearity extract` (start-up, loading, tokenizing, forward, writing) and both forward-only
 * and whole process for PyTorch (bench/torch_llama_forward.py: Debian's python3-torch, every core,
 * the same OpenBLAS kernel as this process chose, the same token ids). Peak RSS and CPU seconds
 * are read from /proc/PID every 50 ms (VmHWM, utime + stime of all threads), so the CPU figure
 * may miss the last 50 ms.
 *
 * The roofline is sgemm [1,024, 4,096] x [4,096, 11,008] (the 7B MLP's product at a batch of
 * 1,024 tokens) on every core through the project's native BLAS, best of 3, before each round.
 *
 * The checkpoint's files are read once, untimed, before the first round. Why: on the virtual
 * machines this is measured on, the host reclaims guest memory left idle, page cache included
 * (TinyLlama's 2.2 GB read in 0.3 s, and in 1.6 s after 90 s idle), so the first round's
 * extraction paid 1-3 s for reading it cold, while PyTorch, which runs after it, found it warm
 * and times its forward without its loading anyway. Later rounds start warm from the round before.
 *
 * Kernel: both programs load the same OpenBLAS with the same environment. Where the machine pins
 * OPENBLAS_CORETYPE below what the CPU can run, the bench says so; the anchors are "at
 * their best", so run it then as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE npm run bench:big`.
 *
 * Environment: BENCH_BIG_DIR (checkpoints; default $TMPDIR/linearity-bench-big, written when
 * missing, deleted at the end unless BENCH_BIG_KEEP=1 or they were there before), BENCH_BIG_ARGS
 * (extra extract flags, e.g. "--workers 1"), BENCH_BIG_TINY=1 (the same layouts at test size and
 * 64-256 tokens: checks the harness in a minute), TORCH_PYTHON (/usr/bin/python3).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend";
import { cutSequences } from "../lib/extract/sequences";
import { loadTextSource } from "../lib/extract/source";
import { writeNpy } from "../lib/io/npy";
import { saveCheckpoint } from "../lib/models/save";
import { nativeBlas, nativeBlasStatus } from "../lib/native";
import { cpuFlagsFromCpuinfo, openblasCoreFromFlags } from "../lib/native/openblas-core";
import { loadTokenizer } from "../lib/tokenizer";
import { initialStateDict, llamaHfConfig, type ModelSizes } from "../lib/train/model";
import { Rng } from "../lib/train/random";
import { BIG_SHAPES, parameterCounts, tinyShape, writeBigCheckpoint, type BigShape } from "../scripts/make-big-checkpoints";

const ROOT = path.resolve(__dirname, "..");
const TEXT = "corpus:brown:heldout";
const SEQ_LEN = 128;
const BATCH = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TINY = process.env.BENCH_BIG_TINY === "1";
const PYTHON = process.env.TORCH_PYTHON ?? "/usr/bin/python3";
const GiB = 2 ** 30;

/** One benchmark case: a model folder to make, how many tokens, and its target. */
interface Case {
  name: string;
  tokens: number;
  /** Parameters, and those a token's forward multiplies by (neither embedding nor unembedding). */
  params: { total: number; nonEmbedding: number };
  /** Write the checkpoint into `dir` (which does not exist). */
  make(dir: string): void;
  target: "vs-torch-1.5" | "vs-torch-1.0-rss-0.5" | "roofline-0.4-rss-4g";
}

const SIZES_768: ModelSizes = {
  n_layers: 12, d_model: 768, n_heads: 12, n_kv_heads: 12, d_mlp: 2048, n_ctx: 2048,
  rope_theta: 10000, norm_eps: 1e-5, tie_word_embeddings: false,
};

/** The 768-wide case's sizes, or a 64-wide, 2-block one under BENCH_BIG_TINY. */
const sizes768 = (): ModelSizes => (TINY ? { ...SIZES_768, d_model: 64, n_heads: 4, n_kv_heads: 4, d_mlp: 128, n_layers: 2 } : SIZES_768);

function bigCase(shapeName: string, tokens: number, target: Case["target"]): Case {
  const full = BIG_SHAPES.find((s) => s.name === shapeName)!;
  const shape: BigShape = TINY ? tinyShape(full) : full;
  return {
    name: shape.name, tokens: TINY ? 128 : tokens, params: parameterCounts(shape), target,
    make: (dir) => writeBigCheckpoint(dir, shape, TINY ? { shardBytes: 64e3 } : {}),
  };
}

const CASES: Case[] = [
  {
    name: TINY ? "llama-64x2" : "llama-768x12",
    tokens: TINY ? 256 : 4096,
    params: (() => {
      const s = sizes768();
      const perBlock = 4 * s.d_model * s.d_model + 3 * s.d_model * s.d_mlp + 2 * s.d_model;
      const vocab = llamaHfConfig(s).vocab_size as number;
      return { total: s.n_layers * perBlock + 2 * vocab * s.d_model + s.d_model, nonEmbedding: s.n_layers * perBlock + s.d_model };
    })(),
    make: (dir) => {
      const s = sizes768();
      const sd = initialStateDict(s, new Rng(12));
      saveCheckpoint(dir, llamaHfConfig(s), sd, "F32");
      tf.dispose(Object.values(sd));
    },
    target: "vs-torch-1.5",
  },
  bigCase("tinyllama-1.1b", 512, "vs-torch-1.0-rss-0.5"),
  bigCase("llama-2-7b", 1024, "roofline-0.4-rss-4g"),
  // Not an issue target: the same measure on Mistral's layout (8 kv heads, MLP 14,336, window 4,096).
  bigCase("mistral-7b", 1024, "roofline-0.4-rss-4g"),
];

const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" ");
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const count = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 3)}M`);
const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

/** What a child process did: wall seconds, CPU seconds and peak resident bytes read from /proc. */
interface RunResult {
  status: number | null;
  seconds: number;
  cpu: number;
  peakBytes: number;
  stdout: string;
  stderr: string;
}

/** VmHWM (bytes) and utime + stime (seconds) of a live process, or undefined once it is gone. */
function sample(pid: number): { hwm: number; cpu: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    // Fields after the command name (which may hold spaces) are space-separated; utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { hwm, cpu: ticks / 100 };
  } catch {
    return undefined;
  }
}

/** Run a program to its end, sampling its memory and CPU every 50 ms. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let peak = 0;
    let cpu = 0;
    const timer = setInterval(() => {
      const s = child.pid === undefined ? undefined : sample(child.pid);
      if (s !== undefined) {
        peak = Math.max(peak, s.hwm);
        cpu = Math.max(cpu, s.cpu);
      }
    }, 50);
    child.on("close", (status) => {
      clearInterval(timer);
      resolve({ status, seconds: (performance.now() - t0) / 1000, cpu, peakBytes: peak, stdout, stderr });
    });
  });
}

/** Float32 GFLOP/s of sgemm [1024, 4096] x [4096, 11008] on every core, best of 3. */
/** Read every file of `dir` once (into the page cache), 16 MiB at a time; bytes and seconds. */
function warmCheckpoint(dir: string): { bytes: number; seconds: number } {
  const t0 = performance.now();
  const buf = Buffer.allocUnsafe(16 * 2 ** 20);
  let bytes = 0;
  for (const name of fs.readdirSync(dir)) {
    const fd = fs.openSync(path.join(dir, name), "r");
    try {
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) bytes += n;
    } finally {
      fs.closeSync(fd);
    }
  }
  return { bytes, seconds: (performance.now() - t0) / 1000 };
}

function roofline(): number {
  const blas = nativeBlas();
  if (blas === undefined) return NaN;
  const [M, K, N] = [1024, 4096, 11008];
  const A = new Float32Array(M * K).fill(0.5);
  const B = new Float32Array(K * N).fill(0.25);
  const C = new Float32Array(M * N);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    blas.gemm(false, false, M, N, K, 1, A, K, B, N, 0, C, N);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return (2 * M * N * K) / best / 1e9;
}

/** The token ids extraction will run, as full [sequences, SEQ_LEN] int32 rows for PyTorch. */
function idsFile(modelDir: string, tokens: number, out: string): number {
  const cfg = JSON.parse(fs.readFileSync(path.join(modelDir, "config.json"), "utf8"));
  const tokenizer = loadTokenizer(modelDir, { d_vocab: cfg.vocab_size, bos_token_id: cfg.bos_token_id });
  const rows: Int32Array[] = [];
  for (const s of cutSequences(loadTextSource(TEXT), tokenizer, { seqLen: SEQ_LEN, maxTokens: tokens })) {
    if (s.tokenIds.length === SEQ_LEN) rows.push(s.tokenIds);
  }
  const data = new Int32Array(rows.length * SEQ_LEN);
  rows.forEach((r, i) => data.set(r, i * SEQ_LEN));
  writeNpy(out, { dtype: "int32", shape: [rows.length, SEQ_LEN], data });
  return data.length;
}

function hasTorch(): boolean {
  return spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" }).status === 0;
}

/** PyTorch on every core (Debian's torch runs 1 ATen thread unless told), with this process's OpenBLAS kernel. */
/**
 * A line when the environment pins OpenBLAS to a slower kernel than the CPU's flags allow (some
 * machines set OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for old OpenBLAS builds; on the 2-core EPYC
 * measured for issue 18, Haswell's sgemm ran at 188-199 GFLOP/s against 367-387 with the
 * detected Cooperlake). Both programs then run pinned, which is fair but not "at their best".
 */
function pinnedBelowBest(): string | undefined {
  const pinned = process.env.OPENBLAS_CORETYPE?.trim();
  if (!pinned) return undefined;
  let best: string | undefined;
  try {
    best = openblasCoreFromFlags(cpuFlagsFromCpuinfo(fs.readFileSync("/proc/cpuinfo", "utf8")));
  } catch {
    return undefined;
  }
  if (best === undefined || best.toLowerCase() === pinned.toLowerCase()) return undefined;
  return `OPENBLAS_CORETYPE=${pinned} is set, and this CPU's flags allow ${best}: both programs run the pinned kernel. To time them at their best, run with both unset: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE npm run bench:big`;
}

const torchEnv = (): NodeJS.ProcessEnv => ({ ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(os.cpus().length) });

interface Round {
  roofline: number;
  ours?: { tokensPerSecond: number; seconds: number; cpu: number; peakBytes: number };
  oursError?: string;
  torch?: { forward: number; whole: number; seconds: number; peakBytes: number };
  torchError?: string;
}

async function runCase(c: Case, dir: string, torch: boolean, tmp: string): Promise<void> {
  console.log(`\n-- ${c.name}: ${count(c.params.total)} parameters (${count(c.params.nonEmbedding)} per token), ${c.tokens} tokens of ${TEXT}, seq-len ${SEQ_LEN}, batch ${BATCH} --`);
  const f32Bytes = 4 * c.params.total;
  const torchFits = f32Bytes < 0.75 * os.totalmem();
  if (torch && !torchFits) console.log(`PyTorch skipped: the model in float32 is ${gib(f32Bytes)}, this machine has ${gib(os.totalmem())}`);
  const ids = path.join(tmp, `${c.name}-ids.npy`);
  const torchTokens = idsFile(dir, c.tokens, ids);
  const extraArgs = (process.env.BENCH_BIG_ARGS ?? "").split(" ").filter((s) => s !== "");
  const rounds: Round[] = [];
  const warm = warmCheckpoint(dir);
  console.log(`read the checkpoint once before the rounds (${gib(warm.bytes)} in ${warm.seconds.toFixed(1)} s), so round 1 does not read it cold`);
  for (let r = 0; r < ROUNDS; r++) {
    const round: Round = { roofline: roofline() };
    const out = path.join(tmp, `${c.name}-ds-${r}`);
    const ex = await run(process.execPath, [
      "bin/linearity.js", "extract", "--model", dir, "--text", TEXT, "--out", out, "--max-tokens", String(c.tokens),
      "--seq-len", String(SEQ_LEN), "--batch-size", String(BATCH), "--dtype", "float16", ...extraArgs,
    ], { ...process.env, LINEARITY_QUIET: "1" });
    fs.rmSync(out, { recursive: true, force: true });
    const done = /\((\d+) this run/.exec(ex.stdout);
    if (ex.status === 0 && done) {
      const tokens = Number(done[1]);
      round.ours = { tokensPerSecond: tokens / ex.seconds, seconds: ex.seconds, cpu: ex.cpu, peakBytes: ex.peakBytes };
    } else {
      round.oursError = `${(ex.stderr.trim().split("\n").pop() ?? "").slice(0, 200)} (exit ${ex.status}, ${ex.seconds.toFixed(0)} s, peak ${gib(ex.peakBytes)})`;
    }
    if (torch && torchFits) {
      const py = await run(PYTHON, ["bench/torch_llama_forward.py", dir, ids, String(BATCH), String(os.cpus().length)], torchEnv());
      const line = py.stdout.trim().split("\n").pop() ?? "";
      if (py.status === 0 && line.startsWith("{")) {
        const res = JSON.parse(line) as { tokens: number; forward_seconds: number };
        round.torch = { forward: res.tokens / res.forward_seconds, whole: res.tokens / py.seconds, seconds: py.seconds, peakBytes: py.peakBytes };
      } else {
        round.torchError = `${(py.stderr.trim().split("\n").pop() ?? "").slice(0, 200)} (exit ${py.status}, peak ${gib(py.peakBytes)})`;
      }
    }
    rounds.push(round);
    const o = round.ours;
    const t = round.torch;
    console.log(
      `round ${r + 1}: roofline ${round.roofline.toFixed(0)} GFLOP/s; ` +
        (o ? `linearity extract ${o.tokensPerSecond.toFixed(1)} tokens/s (${o.seconds.toFixed(1)} s, ${o.cpu.toFixed(0)} CPU-s), peak ${gib(o.peakBytes)}` : `linearity extract FAILED: ${round.oursError}`) +
        (t ? `; PyTorch forward ${t.forward.toFixed(1)} tokens/s, whole process ${t.whole.toFixed(1)} (${t.seconds.toFixed(1)} s), peak ${gib(t.peakBytes)}` : round.torchError ? `; PyTorch FAILED: ${round.torchError}` : "") +
        `; load ${load()}`,
    );
  }
  summarize(c, rounds, torchTokens);
}

function summarize(c: Case, rounds: Round[], torchTokens: number): void {
  const ours = rounds.flatMap((r) => (r.ours ? [r.ours] : []));
  const torch = rounds.flatMap((r) => (r.torch ? [r.torch] : []));
  const roof = rounds.map((r) => r.roofline);
  const bm = (xs: number[], digits = 1) => `best ${Math.max(...xs).toFixed(digits)}, median ${median(xs).toFixed(digits)}`;
  const bmLow = (xs: number[]) => `best ${gib(Math.min(...xs))}, median ${gib(median(xs))}`;
  console.log(`${c.name} over ${rounds.length} rounds: roofline GFLOP/s ${bm(roof, 0)}`);
  if (ours.length === 0) {
    console.log(`  linearity extract: no round finished; target NOT MET`);
    return;
  }
  const tps = ours.map((o) => o.tokensPerSecond);
  console.log(`  linearity extract tokens/s ${bm(tps)}; tokens per CPU-second ${bm(ours.map((o) => (o.tokensPerSecond * o.seconds) / o.cpu))}; peak RSS ${bmLow(ours.map((o) => o.peakBytes))}`);
  if (torch.length > 0) {
    console.log(
      `  PyTorch (${torchTokens} tokens) forward tokens/s ${bm(torch.map((t) => t.forward))}, whole process ${bm(torch.map((t) => t.whole))}; peak RSS ${bmLow(torch.map((t) => t.peakBytes))}`,
    );
  }
  const verdict = (ok: boolean) => (ok ? "MET" : "NOT MET");
  switch (c.target) {
    case "vs-torch-1.5":
    case "vs-torch-1.0-rss-0.5": {
      if (torch.length === 0) {
        console.log("  target: needs PyTorch (apt install python3-torch); not measured");
        return;
      }
      const need = c.target === "vs-torch-1.5" ? 1.5 : 1.0;
      const best = Math.max(...tps) / Math.max(...torch.map((t) => t.forward));
      const med = median(tps) / median(torch.map((t) => t.forward));
      const whole = Math.max(...tps) / Math.max(...torch.map((t) => t.whole));
      let line = `  target extract >= ${need}x PyTorch forward: ${best.toFixed(2)}x best/best, ${med.toFixed(2)}x median/median (${whole.toFixed(2)}x PyTorch whole process): ${verdict(best >= need)}`;
      if (c.target === "vs-torch-1.0-rss-0.5") {
        const rss = Math.min(...ours.map((o) => o.peakBytes)) / Math.min(...torch.map((t) => t.peakBytes));
        line += `; peak RSS ${rss.toFixed(2)}x PyTorch's (target <= 0.5): ${verdict(rss <= 0.5)}`;
      }
      console.log(line);
      return;
    }
    case "roofline-0.4-rss-4g": {
      // Per round: its tokens/s against the roofline measured just before it.
      const fractions = rounds.flatMap((r) => (r.ours ? [(r.ours.tokensPerSecond * 2 * c.params.nonEmbedding) / (r.roofline * 1e9)] : []));
      const peak = Math.min(...ours.map((o) => o.peakBytes));
      console.log(
        `  target tokens/s >= 0.4 x roofline / (2 x ${count(c.params.nonEmbedding)}): ${bm(fractions, 2)} of the roofline: ${verdict(Math.max(...fractions) >= 0.4)}; ` +
          `peak RSS ${gib(peak)} (target <= 4 GiB): ${verdict(peak <= 4 * GiB)}`,
      );
    }
  }
}

async function main(): Promise<void> {
  await initBackend({ quiet: true });
  if (!fs.existsSync(path.join(ROOT, "dist", "lib", "cli", "main.js"))) {
    console.log("bench:big: skipped (dist/ missing; run npm run build)");
    return;
  }
  const wanted = process.env.BENCH_BIG_CASES?.split(",").map((s) => s.trim());
  const cases = CASES.filter((c) => wanted === undefined || wanted.some((w) => c.name.startsWith(w)));
  if (cases.length === 0) throw new Error(`BENCH_BIG_CASES=${process.env.BENCH_BIG_CASES} names none of ${CASES.map((c) => c.name).join(", ")}`);
  const store = process.env.BENCH_BIG_DIR ?? path.join(os.tmpdir(), "linearity-bench-big");
  fs.mkdirSync(store, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-big-"));
  const torch = hasTorch();
  console.log(`== bench:big: whole-process linearity extract against PyTorch's float32 forward, random checkpoints of real shapes${TINY ? " (BENCH_BIG_TINY: test sizes)" : ""} ==`);
  console.log(`${os.cpus().length} cores, ${gib(os.totalmem())}; load average ${load()}; ${nativeBlasStatus()}; OPENBLAS_CORETYPE for PyTorch ${process.env.OPENBLAS_CORETYPE ?? "(unset: its own detection)"}`);
  if (!torch) console.log(`notice: ${PYTHON} has no torch/numpy (apt install python3-torch); only extraction is timed`);
  const pinned = pinnedBelowBest();
  if (pinned !== undefined) console.log(`notice: ${pinned}`);
  const made: string[] = [];
  try {
    for (const c of cases) {
      const dir = path.join(store, c.name);
      if (!fs.existsSync(dir)) {
        const t = performance.now();
        c.make(dir);
        made.push(dir);
        console.log(`wrote ${dir} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
      }
      await runCase(c, dir, torch, tmp);
      if (process.env.BENCH_BIG_KEEP !== "1" && made.includes(dir)) fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log(`\nload average at the end ${load()}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (process.env.BENCH_BIG_KEEP !== "1") for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:big: ${(err as Error).message}`);
  process.exit(1);
});
