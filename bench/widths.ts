/**
 * `npm run bench`: whole-process timings of `linearity score X Y` against the original PyTorch
 * formula (bench/original_torch.py) on the same .npy files, alternated, best of N, at d_model
 * 768, 2,048 and 4,096 (22,986 tokens: the original notebook's), for a well-conditioned X and an
 * ill-conditioned one (bench/widths-data.ts), with the route our score took (products in float32
 * or float64, on the native BLAS or tfjs-wasm / JavaScript; solves on native LAPACK or
 * JavaScript), the peak memory of both processes (/usr/bin/time), the d x d float64 solves timed
 * alone (bench/widths-solves.ts), and, opt-in, the peak memory at 200,000 x 4,096
 * (bench/widths-memory.ts).
 *
 * Environment: BENCH_CONFIGS (default "768x22986:well,ill;2048x22986:well,ill;4096x22986:well,ill":
 * d_model x tokens : kinds; "" for none), BENCH_REPEATS (2), BENCH_SOLVES ("768,2048,4096"; "" for
 * none), BENCH_SOLVES_JS (widths also solved on the JavaScript kernels, "768"), BENCH_NATIVE (1;
 * 0 runs our CLI with LINEARITY_NATIVE=0: the fallback routes), BENCH_MEMORY (0; 1 adds the
 * memory line), BENCH_PYTHON (/usr/bin/python3). Needs a build (`npm run build`: the CLI runs
 * from dist/). PyTorch lines are skipped with a notice when `python3 -c "import torch"` fails.
 * Not part of `npm test`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { nativeBlasStatus } from "../lib/native";
import { writeNpy } from "../lib/io/npy";
import { makePair } from "./widths-data";
import { benchMemory } from "./widths-memory";
import { benchSolves } from "./widths-solves";

const root = path.resolve(__dirname, "..");
const list = (v: string) => v.split(",").map(Number).filter((x) => x > 0);
const configs = (process.env.BENCH_CONFIGS ?? "768x22986:well,ill;2048x22986:well,ill;4096x22986:well,ill").split(";").filter((c) => c.trim() !== "").map((c) => {
  const [size, kinds] = c.split(":");
  const [d, n] = size.split("x").map(Number);
  return { d, n, kinds: (kinds ?? "well,ill").split(",") };
});
const repeats = Number(process.env.BENCH_REPEATS ?? 2);
const python = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
const childEnv = process.env.BENCH_NATIVE === "0" ? { ...process.env, LINEARITY_NATIVE: "0" } : process.env;
const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" ");

interface Run {
  seconds: number;
  peakMB: number;
  stdout: string;
  stderr: string;
}

/** Wall time and peak RSS of a whole process (GNU time). */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %M", cmd, ...args], { cwd: root, encoding: "utf8", maxBuffer: 1 << 24, env });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr.slice(-500)}`);
  return { seconds: Number(m[1]), peakMB: Number(m[2]) / 1024, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The route of one `linearity score` run, from its output: products in float32 or float64, on the
 * native BLAS (route line says so) or on tfjs-wasm (float32) / JavaScript (float64); the d x d
 * solves on native LAPACK when the process loaded a native BLAS (its stderr notice), else JavaScript.
 */
function routeOf(r: Run): string {
  const m = /route: (\S+) \((?:condition estimate of X's correlation matrix (\S+)\)|(native) BLAS)/.exec(r.stdout);
  if (!m) return "route ?";
  const nativeLoaded = /linearity-lab: (?:.*; )?native BLAS/.test(r.stderr);
  const products = m[3] ? "native BLAS" : m[1] === "float32" ? "tfjs-wasm" : "JavaScript";
  return `${m[1]} products on ${products}${m[2] ? ` (cond ${m[2]})` : ""}, solves on ${nativeLoaded ? "native LAPACK" : "JavaScript"}`;
}

/**
 * PyTorch on every core: Debian's torch reports 1 ATen thread here unless told (its OpenBLAS
 * threads regardless), and the original notebook's users get torch's default of all cores. And
 * with the right OpenBLAS kernel: read after nativeBlas() has loaded, which sets
 * OPENBLAS_CORETYPE where OpenBLAS fell back to its generic core (docs/numerics.md "OpenBLAS kernels").
 */
const torchEnv = () => ({ ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(os.cpus().length) });

async function main(): Promise<void> {
  await initBackend({ quiet: true });
  const torch = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
  console.log(`linearity-lab widths bench: ${os.cpus().length} cores, load average ${load()}, node ${process.version}; ${nativeBlasStatus()}${childEnv.LINEARITY_NATIVE === "0" ? "; our CLI runs with LINEARITY_NATIVE=0" : ""}`);
  if (!torch) console.log(`(no PyTorch: '${python} -c "import torch"' failed; PyTorch columns skipped)`);
  if (!fs.existsSync(path.join(root, "dist/lib/cli/main.js"))) throw new Error("run `npm run build` first (the CLI runs from dist/)");
  benchSolves(list(process.env.BENCH_SOLVES ?? "768,2048,4096"), list(process.env.BENCH_SOLVES_JS ?? "768"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-bench-"));
  try {
    for (const { d, n, kinds } of configs) {
      for (const kind of kinds) {
        const f = makePair(n, d, kind, dir);
        const ours: Run[] = [], theirs: Run[] = [];
        for (let k = 0; k < repeats; k++) {
          // Alternated, so a change of load hits both.
          ours.push(timed(process.execPath, ["bin/linearity.js", "score", f.x, f.y, "--digits", "8"], childEnv));
          if (torch) theirs.push(timed(python, ["bench/original_torch.py", f.x, f.y], torchEnv()));
        }
        const best = (rs: Run[]) => rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
        const o = best(ours);
        const score = Number(o.stdout.trim().split("\n").pop());
        let line = `d_model ${String(d).padStart(4)} x ${String(n).padStart(5)} tokens, ${kind.padEnd(4)}: linearity ${o.seconds.toFixed(2)} s (runs ${ours.map((r) => r.seconds.toFixed(1)).join(", ")}; ${routeOf(o)}; peak ${o.peakMB.toFixed(0)} MB)`;
        if (torch) {
          const t = best(theirs);
          const tScore = Number(t.stdout.split(" ")[0]);
          line += ` | PyTorch ${t.seconds.toFixed(2)} s (runs ${theirs.map((r) => r.seconds.toFixed(1)).join(", ")}; ${t.stdout.trim().split(" ").slice(-2).join(" ")}; peak ${t.peakMB.toFixed(0)} MB) | ratio ${(t.seconds / o.seconds).toFixed(2)}x | scores ${score.toFixed(6)} vs ${tScore.toFixed(6)}`;
        }
        console.log(line + ` | load ${load()}`);
        if (d === 768 && process.env.BENCH_FOLDS !== "0") benchFolds(f, n);
        fs.rmSync(f.x);
        fs.rmSync(f.y);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (process.env.BENCH_MEMORY === "1") benchMemory(root);
}

/**
 * The out-of-sample score's cost: `score X Y --groups G --folds 5` (50 contiguous groups, the
 * per-group moments of one pass) against the plain score, alternated; target <= 2x.
 */
function benchFolds(f: { x: string; y: string }, n: number): void {
  const groups = path.join(path.dirname(f.x), "groups.npy");
  writeNpy(groups, { dtype: "int32", shape: [n], data: Int32Array.from({ length: n }, (_, t) => Math.floor((t * 50) / n)) });
  const plain: Run[] = [], folds: Run[] = [];
  for (let k = 0; k < repeats; k++) {
    plain.push(timed(process.execPath, ["bin/linearity.js", "score", f.x, f.y], childEnv));
    folds.push(timed(process.execPath, ["bin/linearity.js", "score", f.x, f.y, "--groups", groups, "--folds", "5"], childEnv));
  }
  const sec = (rs: Run[]) => rs.map((r) => r.seconds).sort((a, b) => a - b);
  const best = (rs: Run[]) => sec(rs)[0], median = (rs: Run[]) => sec(rs)[Math.floor((rs.length - 1) / 2)];
  const cv = /cv \(5 folds by group\): (\S+)/.exec(folds[0].stdout)?.[1];
  console.log(
    `  --folds 5, 50 groups: ${best(folds).toFixed(2)} s best, ${median(folds).toFixed(2)} s median (runs ${folds.map((r) => r.seconds.toFixed(1)).join(", ")}) against plain ${best(plain).toFixed(2)} / ${median(plain).toFixed(2)} s: ` +
      `${(best(folds) / best(plain)).toFixed(2)}x best, ${(median(folds) / median(plain)).toFixed(2)}x median (target <= 2x); cv ${cv} | load ${load()}`,
  );
  fs.rmSync(groups);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
