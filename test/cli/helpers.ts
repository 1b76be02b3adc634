import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { vi } from "vitest";
import { buildProgram } from "../../lib/cli/main";

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "linearity-cli-"));
}

/**
 * Run the CLI in this process: returns stdout, or the error a user would see (main() prints its
 * first line as `linearity: <message>`).
 */
export async function runInProcess(args: string[]): Promise<{ stdout: string; error?: string }> {
  let stdout = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await (await buildProgram()).parseAsync(["node", "linearity", ...args]);
    return { stdout };
  } catch (err) {
    return { stdout, error: (err as Error).message };
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
  }
}

export { rng, toyStates, writeToyDataset } from "./toy-data";

const RUN_CLI = path.join(__dirname, "run-cli.ts");

/** Run the CLI as a real process (from the TypeScript sources through tsx). */
export function spawnCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", RUN_CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, LINEARITY_QUIET: "1", LINEARITY_DEBUG: "" },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ---- float64 references, written independently of lib/metrics and lib/numerics -----------------------------

function centered(x: ArrayLike<number>, n: number, d: number): number[][] {
  const cols = Array.from({ length: d }, (_, j) => Array.from({ length: n }, (_, t) => x[t * d + j]));
  return cols.map((c) => {
    const mean = c.reduce((a, b) => a + b, 0) / n;
    return c.map((v) => v - mean);
  });
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

/**
 * Linearity score by projection: centre X and Y, orthonormalise X's columns (modified
 * Gram-Schmidt, dropping columns that vanish), score = ||proj_X(Yc)||^2 / ||Yc||^2.
 * This equals 1 - ||normalize(X) A - normalize(Y)||^2 with A the least-squares map.
 */
export function referenceScore(x: ArrayLike<number>, y: ArrayLike<number>, n: number, dx: number, dy: number): number {
  const X = centered(x, n, dx);
  const Y = centered(y, n, dy);
  const basis: number[][] = [];
  for (const col of X) {
    const v = col.slice();
    for (const q of basis) {
      const c = dot(q, v);
      for (let t = 0; t < n; t++) v[t] -= c * q[t];
    }
    const norm = Math.sqrt(dot(v, v));
    if (norm > 1e-9 * Math.sqrt(dot(col, col))) basis.push(v.map((a) => a / norm));
  }
  let explained = 0;
  let total = 0;
  for (const col of Y) {
    total += dot(col, col);
    for (const q of basis) explained += dot(q, col) ** 2;
  }
  return explained / total;
}

export function referenceResidualScore(x: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number): number {
  const diff = Array.from({ length: n * d }, (_, k) => y[k] - x[k]);
  return referenceScore(x, diff, n, d, d);
}

export function referenceMeanNorm(x: ArrayLike<number>, n: number, d: number): number {
  let s = 0;
  for (let t = 0; t < n; t++) {
    let q = 0;
    for (let j = 0; j < d; j++) q += x[t * d + j] ** 2;
    s += Math.sqrt(q);
  }
  return s / n;
}

export function referenceMeanCosine(x: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number): number {
  let s = 0;
  for (let t = 0; t < n; t++) {
    let xy = 0, xx = 0, yy = 0;
    for (let j = 0; j < d; j++) {
      xy += x[t * d + j] * y[t * d + j];
      xx += x[t * d + j] ** 2;
      yy += y[t * d + j] ** 2;
    }
    s += xy / Math.sqrt(xx * yy);
  }
  return s / n;
}
