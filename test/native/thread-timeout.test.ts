/**
 * OpenBLAS's idle worker threads sleep right after a product instead of spinning on sched_yield
 * for ~0.1 s (OPENBLAS_THREAD_TIMEOUT=4, set by the addon for the library's constructor only):
 * read from /proc/self/task while the main thread works on after a product, in a fresh process.
 * A user's OPENBLAS_THREAD_TIMEOUT is kept (and its spinning worker seen, so the check can fail);
 * the variable does not reach child processes. Skipped, with a notice, without the native BLAS,
 * /proc, or more than one BLAS thread.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";

const ROOT = path.resolve(__dirname, "../..");
const blas = nativeBlas();
const runs = blas !== undefined && blas.threads() >= 2 && /OpenBLAS/i.test(blas.description) && fs.existsSync("/proc/self/task");
if (!runs) console.warn(`test/native/thread-timeout.test.ts: SKIPPED, ${blas === undefined ? nativeBlasStatus() : `needs OpenBLAS with 2+ threads and /proc (${blas.description})`}`);

// After one product, keep the main thread busy for 30 ms (as between a forward's products), then
// count the threads running or runnable (the main thread, plus any BLAS worker still spinning):
// the least of 5 counts 2 ms apart, so a helper thread that happens to run once is not counted.
const SCRIPT = `
const fs = require("fs");
const { nativeBlas } = require("./lib/native/blas");
const b = nativeBlas();
const n = 512, a = new Float32Array(n * n).fill(1), c = new Float32Array(n * n);
b.gemm(false, false, n, n, n, 1, a, n, a, n, 0, c, n);
const busy = (ms) => { const until = Date.now() + ms; while (Date.now() < until) {} };
const count = () => fs.readdirSync("/proc/self/task").filter((t) => fs.readFileSync("/proc/self/task/" + t + "/stat", "utf8").replace(/^.*\\) /, "")[0] === "R").length;
busy(30);
let running = Infinity;
for (let i = 0; i < 5; i++) { running = Math.min(running, count()); busy(2); }
const child = require("child_process").execSync("printenv OPENBLAS_THREAD_TIMEOUT || echo unset", { encoding: "utf8" }).trim();
console.log(JSON.stringify({ running, child, set: /idle threads sleep at once/.test(b.description) }));
`;

function probe(env: NodeJS.ProcessEnv): { running: number; child: string; set: boolean } {
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  const clean: NodeJS.ProcessEnv = { ...process.env, LINEARITY_QUIET: "1" };
  delete clean.OPENBLAS_THREAD_TIMEOUT;
  delete clean.GOTO_THREAD_TIMEOUT;
  const r = spawnSync(tsx, ["-e", SCRIPT], { cwd: ROOT, encoding: "utf8", env: { ...clean, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describe.skipIf(!runs)("OpenBLAS thread timeout", () => {
  it("idle workers sleep right after a product; the setting stays out of child processes", () => {
    const ours = probe({});
    expect(ours.set).toBe(true);
    expect(ours.running).toBe(1); // the main thread alone
    expect(ours.child).toBe("unset");
  });

  it("a user's OPENBLAS_THREAD_TIMEOUT is kept: with 2^30 cycles a worker is still spinning 30 ms after the product", () => {
    const theirs = probe({ OPENBLAS_THREAD_TIMEOUT: "30" });
    expect(theirs.set).toBe(false);
    expect(theirs.running).toBeGreaterThanOrEqual(2);
    expect(theirs.child).toBe("30");
  });
});
