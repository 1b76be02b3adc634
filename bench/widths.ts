/**
 * `npm run bench`: whole-process timings of `linearity score X Y` against the original PyTorch
 * formula (bench/original_torch.py) on the same .npy files, alternated, best of N, at d_model
 * 768, 2,048 and 4,096, for a well-conditioned X and an ill-conditioned one (geometric singular
 * values down to 1e-3 plus two massive-activation columns), with the route our score took, the
 * peak memory of both processes (/usr/bin/time), and the d x d float64 solves timed alone.
 *
 * Environment: BENCH_CONFIGS (default "768x22986:well,ill;2048x8192:well,ill;4096x8192:well":
 * d_model x tokens : kinds), BENCH_REPEATS (2), BENCH_SOLVES ("768,2048,4096"), BENCH_PYTHON
 * (/usr/bin/python3). Needs a build (`npm run build`: the CLI runs from dist/). PyTorch lines are
 * skipped with a notice when `python3 -c "import torch"` fails. Not part of `npm test`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend";
import { writeNpy } from "../lib/io/npy";
import { explainedSumSquares, factorGram, fillNormal, normalRng } from "../lib";

const root = path.resolve(__dirname, "..");
const configs = (process.env.BENCH_CONFIGS ?? "768x22986:well,ill;2048x8192:well,ill;4096x8192:well").split(";").map((c) => {
  const [size, kinds] = c.split(":");
  const [d, n] = size.split("x").map(Number);
  return { d, n, kinds: (kinds ?? "well,ill").split(",") };
});
const repeats = Number(process.env.BENCH_REPEATS ?? 2);
const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" ");

/**
 * X [n, d] and Y = X + 0.5 tanh(2 X W / sqrt(d)) + 0.05 noise, float32. "well": independent
 * Gaussian columns with scales 0.5 .. 1.5. "ill" (anisotropic, like real hidden states): every
 * column shares one direction, x_j = z_0 + s_j z_j with s_j geometric from 1 down to 1e-2, and
 * two massive-activation columns x100.
 */
function makePair(n: number, d: number, kind: string, dir: string): { x: string; y: string } {
  const rng = normalRng(d * 31 + n);
  const W = tf.tensor2d(fillNormal(new Float32Array(d * d), rng).map((v) => (2 * v) / Math.sqrt(d)), [d, d]);
  const ill = kind === "ill";
  const scale = Float32Array.from({ length: d }, (_, c) => (ill ? Math.pow(1e-2, c / (d - 1)) : 0.5 + ((c * 7919) % 100) / 100));
  const x = new Float32Array(n * d), y = new Float32Array(n * d);
  for (let r0 = 0; r0 < n; r0 += 2048) {
    const r = Math.min(n, r0 + 2048) - r0;
    const xb = fillNormal(new Float32Array(r * d), rng);
    for (let t = 0; t < r; t++) {
      const z0 = rng();
      for (let c = 0; c < d; c++) {
        const k = t * d + c;
        xb[k] = ill ? (c < 2 ? 100 : 1) * (z0 + scale[c] * xb[k]) : scale[c] * xb[k];
      }
    }
    const yb = tf.tidy(() => {
      const xt = tf.tensor2d(xb, [r, d]);
      const noise = tf.tensor2d(fillNormal(new Float32Array(r * d), rng), [r, d]);
      return tf.add(tf.add(xt, tf.mul(0.5, tf.tanh(tf.matMul(xt, W)))), tf.mul(0.05, noise));
    });
    x.set(xb, r0 * d);
    y.set(yb.dataSync() as Float32Array, r0 * d);
    yb.dispose();
  }
  W.dispose();
  const files = { x: path.join(dir, `x-${d}-${n}-${kind}.npy`), y: path.join(dir, `y-${d}-${n}-${kind}.npy`) };
  writeNpy(files.x, { dtype: "float32", shape: [n, d], data: x });
  writeNpy(files.y, { dtype: "float32", shape: [n, d], data: y });
  return files;
}

interface Run {
  seconds: number;
  peakMB: number;
  stdout: string;
}

/** Wall time and peak RSS of a whole process (GNU time). */
function timed(cmd: string, args: string[]): Run {
  const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %M", cmd, ...args], { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr.slice(-500)}`);
  return { seconds: Number(m[1]), peakMB: Number(m[2]) / 1024, stdout: r.stdout };
}

async function main(): Promise<void> {
  await initBackend({ quiet: true });
  const torch = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
  console.log(`linearity-lab widths bench: ${os.cpus().length} cores, load average ${load()}, node ${process.version}`);
  if (!torch) console.log(`(no PyTorch: '${python} -c "import torch"' failed; PyTorch columns skipped)`);
  if (!fs.existsSync(path.join(root, "dist/lib/cli/main.js"))) throw new Error("run `npm run build` first (the CLI runs from dist/)");
  // The d x d float64 solves alone: factorization (pivoted Cholesky + the condition proof) and
  // the explained sum for d_y = d (a triangular solve with d right-hand sides).
  for (const d of (process.env.BENCH_SOLVES ?? "768,2048,4096").split(",").map(Number).filter((v) => v > 0)) {
    const rng = normalRng(d);
    const k = 64, A = fillNormal(new Float32Array(k * d), rng);
    const C = new Float64Array(d * d);
    for (let a = 0; a < d; a++) C[a * d + a] = k;
    for (let r = 0; r < k; r++) for (let a = 0; a < d; a++) { const v = A[r * d + a]; for (let b = 0; b < d; b++) C[a * d + b] += v * A[r * d + b]; }
    const Cxy = Float64Array.from(C, (v, q) => v + (q % 7));
    let t = performance.now();
    const fct = factorGram(C, d);
    const tf1 = (performance.now() - t) / 1000;
    t = performance.now();
    explainedSumSquares(fct, Cxy, d);
    const tf2 = (performance.now() - t) / 1000;
    console.log(`d x d solves at d_model ${d}: factorGram ${tf1.toFixed(2)} s (rank ${fct.rank}, ${fct.eig ? "eigen" : "Cholesky"} path), explained sum (d_y = ${d}) ${tf2.toFixed(2)} s | load ${load()}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-bench-"));
  try {
    for (const { d, n, kinds } of configs) {
      for (const kind of kinds) {
        const f = makePair(n, d, kind, dir);
        const ours: Run[] = [], theirs: Run[] = [];
        for (let k = 0; k < repeats; k++) {
          // Alternated, so a change of load hits both.
          ours.push(timed(process.execPath, ["bin/linearity.js", "score", f.x, f.y, "--digits", "8"]));
          if (torch) theirs.push(timed(python, ["bench/original_torch.py", f.x, f.y]));
        }
        const best = (rs: Run[]) => rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
        const o = best(ours);
        const route = /route: (\S+) \((?:condition estimate of X's correlation matrix (\S+)\)|(native) BLAS)/.exec(o.stdout);
        const score = Number(o.stdout.trim().split("\n").pop());
        let line = `d_model ${String(d).padStart(4)} x ${String(n).padStart(5)} tokens, ${kind.padEnd(4)}: linearity ${o.seconds.toFixed(2)} s (runs ${ours.map((r) => r.seconds.toFixed(1)).join(", ")}; route ${route?.[1]}${route?.[3] ? " on native BLAS" : `, cond ${route?.[2]}`}; peak ${o.peakMB.toFixed(0)} MB)`;
        if (torch) {
          const t = best(theirs);
          const tScore = Number(t.stdout.split(" ")[0]);
          line += ` | PyTorch ${t.seconds.toFixed(2)} s (runs ${theirs.map((r) => r.seconds.toFixed(1)).join(", ")}; ${t.stdout.trim().split(" ").slice(-2).join(" ")}; peak ${t.peakMB.toFixed(0)} MB) | ratio ${(t.seconds / o.seconds).toFixed(2)}x | scores ${score.toFixed(6)} vs ${tScore.toFixed(6)}`;
        }
        console.log(line + ` | load ${load()}`);
        fs.rmSync(f.x);
        fs.rmSync(f.y);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
