/**
 * The peak-memory line of bench/widths.ts (opt-in, BENCH_MEMORY=1): a [tokens, d_model] float32
 * pair written to disk chunk by chunk (default 200,000 x 4,096: 3.3 GB per file), then the whole
 * `linearity score X Y` process under GNU time -v: its maximum resident set size against the
 * 1.5 GB target of issue 8 and its wall time. The files are deleted afterwards.
 *
 * Environment: BENCH_MEMORY_SIZE ("4096x200000", d_model x tokens), BENCH_MEMORY_DIR (os.tmpdir()).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeLargePair } from "./widths-data";

const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" ");

/** Free bytes on the file system holding `dir` (df). */
function freeBytes(dir: string): number {
  const r = spawnSync("df", ["-B1", "--output=avail", dir], { encoding: "utf8" });
  return Number(r.stdout.trim().split("\n").pop());
}

/** Run the memory line (see the file comment); `root` is the repository root (bin/linearity.js). */
export function benchMemory(root: string): void {
  const [d, n] = (process.env.BENCH_MEMORY_SIZE ?? "4096x200000").split("x").map(Number);
  const base = process.env.BENCH_MEMORY_DIR ?? os.tmpdir();
  const need = 2 * n * d * 4;
  if (freeBytes(base) < need * 1.1) {
    console.log(`peak memory line skipped: ${base} has less than ${(need * 1.1 / 1e9).toFixed(1)} GB free (BENCH_MEMORY_DIR)`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(base, "linearity-memory-"));
  try {
    let t = performance.now();
    const f = writeLargePair(n, d, dir);
    const written = ((performance.now() - t) / 1000).toFixed(0);
    const r = spawnSync("/usr/bin/time", ["-v", process.execPath, "bin/linearity.js", "score", f.x, f.y, "--digits", "8"], { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 });
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(r.stderr);
    if (r.status !== 0 || !rss || !wall) throw new Error(`linearity score failed: ${r.stderr.slice(-800)}`);
    const mb = Number(rss[1]) / 1024;
    const route = /^route: .*$/m.exec(r.stdout)?.[0] ?? "route: ?";
    console.log(
      `peak memory, d_model ${d} x ${n} tokens (float32 files ${(n * d * 4 / 1e9).toFixed(1)} GB each, written in ${written} s): ` +
        `linearity score ${wall[1]} wall, maximum resident set ${mb.toFixed(0)} MB (target <= 1,536 MB: ${mb <= 1536 ? "met" : "NOT met"}); ${route}; score ${r.stdout.trim().split("\n").pop()} | load ${load()}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
