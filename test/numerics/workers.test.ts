/**
 * The worker-thread path of the accumulators: same scores as in-thread (the float32 block products
 * are identical, only the float64 summation order differs), against the float64 reference too;
 * workers stopped at the end and on errors; a NaN reported with its absolute row; a crashed
 * worker reported clearly. Workers take about a second each to start, so only a few cases.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { LinearityAccumulator, LinearityMatrixAccumulator, workerCount } from "../../lib";
import { asFloat32, flat, gaussianMatrix, matmul, refScore } from "./reference";

const relClose = (a: number, b: number, tol: number) => expect(Math.abs(a - b) / Math.abs(b)).toBeLessThanOrEqual(tol);

beforeAll(async () => {
  await initBackend({ quiet: true });
});

// A pair with correlated columns: y = tanh(x W) + x.
const n = 900, d = 12;
const xm = asFloat32(gaussianMatrix(n, d, 3).map((r, i) => r.map((v, j) => v + 0.5 * r[(j + 1) % d] + (i % 7) * 0.01)));
const ym = asFloat32(matmul(xm, gaussianMatrix(d, d, 4)).map((r, i) => r.map((v, j) => Math.tanh(v) + xm[i][j])));
const x = flat(xm), y = flat(ym);

describe("worker threads", () => {
  it("give the in-thread score (1e-9 relative) and the reference score, and stop at the end", async () => {
    // The same chunks both ways (blocks of 64 rows start afresh in each chunk), so the float32
    // block products are the same; the first 2 d_model = 24 rows are the warm-up.
    const chunks = [0, 250, 500, 750].map((r0) => [x.subarray(r0 * d, Math.min(n, r0 + 250) * d), y.subarray(r0 * d, Math.min(n, r0 + 250) * d)]);
    const inThread = new LinearityAccumulator(d, d, { blockRows: 64 });
    for (const [cx, cy] of chunks) inThread.add(cx, cy);
    const a = inThread.result();
    const w = new LinearityAccumulator(d, d, { blockRows: 64, workers: 2 });
    for (const [cx, cy] of chunks) await w.addAsync(cx, cy);
    expect(w.activeWorkers).toBe(2);
    expect(w.gram.workerBlocks).toBeGreaterThanOrEqual(Math.floor(n / 64) - 1);
    expect(() => w.result()).toThrow(/worker threads hold part of the sums/);
    const b = await w.resultAsync();
    expect(w.activeWorkers).toBe(0);
    relClose(b.score, a.score, 1e-9);
    relClose(b.residualScore!, a.residualScore!, 1e-9);
    expect(b.nTokens).toBe(n);
    expect(b.rank).toBe(a.rank);
    expect(b.whitened).toBe(a.whitened); // the "auto" decision is taken once, on the main thread
    expect(Math.abs(b.score - refScore(xm, ym))).toBeLessThanOrEqual(1e-5);
  });

  it("matrix: same scores as in-thread", async () => {
    const S = 3;
    const st = [x, y, Float32Array.from(y, (v, k) => Math.sin(v) + 0.1 * x[k])];
    // whiten: true so the transforms travel to the workers too (auto keeps these states plain).
    const a = new LinearityMatrixAccumulator(S, d, { residual: true, blockRows: 100, whiten: true });
    a.add(st);
    const ra = a.result();
    const m = new LinearityMatrixAccumulator(S, d, { residual: true, blockRows: 100, workers: 2, whiten: true });
    await m.addAsync(st);
    const rb = await m.resultAsync();
    expect(rb.whitened).toEqual([true, true, false]);
    expect(ra.whitened).toEqual(rb.whitened);
    expect(m.activeWorkers).toBe(0);
    for (let i = 0; i < S; i++) {
      for (let j = i + 1; j < S; j++) {
        relClose(rb.scores[i][j], ra.scores[i][j], 1e-9);
        relClose(rb.residualScores![i][j], ra.residualScores![i][j], 1e-9);
      }
    }
  });

  it("report a NaN with its absolute row and stop the workers", async () => {
    const w = new LinearityAccumulator(d, d, { blockRows: 64, workers: 2 });
    await w.addAsync(x.subarray(0, 500 * d), y.subarray(0, 500 * d));
    expect(w.activeWorkers).toBe(2);
    const bad = y.slice(500 * d, n * d);
    bad[(603 - 500) * d + 5] = NaN;
    await expect(w.addAsync(x.subarray(500 * d, n * d), bad)).rejects.toThrow("LinearityAccumulator: 'y' has NaN at row 603, column 5");
    expect(w.activeWorkers).toBe(0);
  });

  it("report a worker that dies", async () => {
    const w = new LinearityAccumulator(d, d, { blockRows: 64, workers: 2 });
    await w.addAsync(x.subarray(0, 500 * d), y.subarray(0, 500 * d));
    await w.gram.workerPool!.workers[1].terminate(); // as if the thread crashed
    await expect(w.resultAsync()).rejects.toThrow(/LinearityAccumulator: worker thread exited unexpectedly \(exit code 1\)/);
    expect(w.activeWorkers).toBe(0);
  });

  it("workerCount: option, then LINEARITY_WORKERS, then in-thread by default; bad values are errors", () => {
    const saved = process.env.LINEARITY_WORKERS;
    try {
      delete process.env.LINEARITY_WORKERS;
      expect(workerCount()).toBeGreaterThanOrEqual(1);
      expect(workerCount()).toBeLessThanOrEqual(2);
      expect(workerCount(0)).toBe(0);
      process.env.LINEARITY_WORKERS = "1";
      expect(workerCount()).toBe(1);
      expect(workerCount(3)).toBe(3);
      process.env.LINEARITY_WORKERS = "two";
      expect(() => workerCount()).toThrow("LINEARITY_WORKERS: expected a non-negative integer, got 'two'");
      expect(() => workerCount(-1)).toThrow("workers: expected a non-negative integer, got -1");
    } finally {
      if (saved === undefined) delete process.env.LINEARITY_WORKERS;
      else process.env.LINEARITY_WORKERS = saved;
    }
  });

  it("a process that used workers exits after resultAsync", () => {
    // A separate Node process scores on workers and must then exit by itself.
    const script = `
      const { initBackend } = require("./lib/backend");
      const { LinearityAccumulator } = require("./lib/metrics");
      (async () => {
        await initBackend({ quiet: true });
        const d = 8, n = 400;
        const x = Float32Array.from({ length: n * d }, (_, k) => Math.sin(k * 1.3));
        const y = Float32Array.from(x, (v, k) => v * v + Math.cos(k));
        const acc = new LinearityAccumulator(d, d, { workers: 2, blockRows: 32 });
        await acc.addAsync(x, y);
        const before = acc.activeWorkers;
        const r = await acc.resultAsync();
        console.log("done", before, acc.activeWorkers, r.nTokens);
      })();`;
    const root = path.resolve(__dirname, "../..");
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: root, encoding: "utf8", timeout: 110_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("done 2 0 400");
    expect(r.status).toBe(0);
  });
});
