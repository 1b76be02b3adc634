/**
 * `npm run bench:profile`: where the time of a whole `linearity score X Y` process goes (issue 19).
 * On the widths bench's pairs (bench/widths-data.ts: 22,986 tokens; "ill" is the anisotropic X
 * with two x100 columns), each of `score X Y` and `score X Y --residual` runs PROFILE_REPEATS
 * times under GNU time (wall, user and system CPU seconds: OpenBLAS's threads included) and
 * `node --cpu-prof` (the main thread's samples, summed into phases by bench/profile-buckets.ts).
 * Prints per run the wall and CPU seconds with the load average, then best and median, then per
 * phase the median seconds and share of the profiled span, and the heaviest functions of the
 * median run.
 *
 * Environment: PROFILE_CONFIGS ("768x22986:ill;4096x22986:ill", d_model x tokens : kinds),
 * PROFILE_REPEATS (3), PROFILE_RESIDUAL (1: also --residual), PROFILE_ROOT (the checkout to run, default this one), PROFILE_DATA (a folder to keep the
 * .npy pairs in and reuse; default a temporary folder, deleted), PROFILE_TOP (12 functions).
 * Needs `npm run build` (the CLI runs from dist/). Not part of `npm test`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BUCKETS, type CpuProfile, summarize } from "./profile-buckets";
import { makePair } from "./widths-data";

/** The checkout whose build runs (PROFILE_ROOT: e.g. a worktree of the previous commit, for a before/after). */
const root = path.resolve(process.env.PROFILE_ROOT ?? path.resolve(__dirname, ".."));
const repeats = Number(process.env.PROFILE_REPEATS ?? 3);
const top = Number(process.env.PROFILE_TOP ?? 12);
const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" ");
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
const configs = (process.env.PROFILE_CONFIGS ?? "768x22986:ill;4096x22986:ill").split(";").filter((c) => c.trim() !== "").map((c) => {
  const [size, kinds] = c.split(":");
  const [d, n] = size.split("x").map(Number);
  return { d, n, kinds: (kinds ?? "ill").split(",") };
});

interface ProfiledRun {
  wall: number;
  cpu: number;
  user: number;
  sys: number;
  load: string;
  summary: ReturnType<typeof summarize>;
}

/** One whole process under GNU time and --cpu-prof. */
function profiledRun(args: string[]): ProfiledRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-prof-"));
  try {
    const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S", process.execPath, "--cpu-prof", `--cpu-prof-dir=${dir}`, "bin/linearity.js", ...args], { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 });
    const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`linearity ${args.join(" ")} failed: ${r.stderr.slice(-500)}`);
    const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error("no .cpuprofile written");
    const summary = summarize(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as CpuProfile);
    const [wall, user, sys] = m.slice(1).map(Number);
    return { wall, user, sys, cpu: user + sys, load: load(), summary };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(title: string, runs: ProfiledRun[]): void {
  const walls = runs.map((r) => r.wall), cpus = runs.map((r) => r.cpu);
  console.log(`\n${title}`);
  runs.forEach((r, k) => console.log(`  run ${k + 1}: wall ${r.wall.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s (user ${r.user.toFixed(2)}, sys ${r.sys.toFixed(2)}), profiled span ${r.summary.span.toFixed(2)} s | load ${r.load}`));
  console.log(`  wall best ${Math.min(...walls).toFixed(2)} s, median ${median(walls).toFixed(2)} s; CPU best ${Math.min(...cpus).toFixed(2)} s, median ${median(cpus).toFixed(2)} s`);
  console.log(`  | phase (main thread, self time) | median s | share of span (min-max) |`);
  for (const b of BUCKETS) {
    const s = runs.map((r) => r.summary.byBucket.get(b)!), share = runs.map((r) => r.summary.byBucket.get(b)! / r.summary.span);
    console.log(`  | ${b} | ${median(s).toFixed(3)} | ${(100 * median(share)).toFixed(1)}% (${(100 * Math.min(...share)).toFixed(1)}-${(100 * Math.max(...share)).toFixed(1)}%) |`);
  }
  const mid = [...runs].sort((a, b) => a.wall - b.wall)[Math.floor((runs.length - 1) / 2)];
  console.log(`  heaviest functions of the median run (self s):`);
  [...mid.summary.byFunction].sort((a, b) => b[1] - a[1]).slice(0, top).forEach(([f, s]) => console.log(`    ${s.toFixed(3)} ${f}`));
}

function main(): void {
  if (!fs.existsSync(path.join(root, "dist/lib/cli/main.js"))) throw new Error("run `npm run build` first (the CLI runs from dist/)");
  const keep = process.env.PROFILE_DATA;
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), "linearity-profile-"));
  if (keep) fs.mkdirSync(keep, { recursive: true });
  console.log(`linearity-lab score profile (${root}): ${os.cpus().length} cores (${os.cpus()[0]?.model}), node ${process.version}, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(unset)"}, load average ${load()}`);
  try {
    for (const { d, n, kinds } of configs) {
      for (const kind of kinds) {
        const x = path.join(dir, `x-${d}-${n}-${kind}.npy`), y = path.join(dir, `y-${d}-${n}-${kind}.npy`);
        if (!(fs.existsSync(x) && fs.existsSync(y))) makePair(n, d, kind, dir);
        for (const residual of process.env.PROFILE_RESIDUAL === "0" ? [false] : [false, true]) {
          const args = ["score", x, y, "--digits", "8", ...(residual ? ["--residual"] : [])];
          const runs = Array.from({ length: repeats }, () => profiledRun(args));
          report(`${n} x ${d}, ${kind}: linearity ${args.slice(3).join(" ")}`, runs);
        }
      }
    }
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
