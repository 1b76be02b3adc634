import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { initBackend } from "../../lib/backend";
import { writeNpy } from "../../lib/io/npy";
import { writeSafetensors } from "../../lib/io/safetensors";
import { referenceResidualScore, referenceScore, runInProcess, spawnCli, tempDir, toyStates } from "./helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const N = 200;
const D = 6;
const [s0, s1, s2] = toyStates(3, N, D);
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  process.env.LINEARITY_QUIET = "1";
  await initBackend();
  writeNpy(file("x.npy"), { dtype: "float32", shape: [N, D], data: s0 });
  writeNpy(file("y.npy"), { dtype: "float32", shape: [N, D], data: s1 });
  writeNpy(file("z64.npy"), { dtype: "float64", shape: [N, D], data: s2 });
  writeSafetensors(file("y.safetensors"), { hidden: { dtype: "F32", shape: [N, D], data: s1 } });
  writeNpy(file("narrow.npy"), { dtype: "float32", shape: [N, 3], data: s1.filter((_, k) => k % D < 3) });
  writeNpy(file("short.npy"), { dtype: "float32", shape: [N - 1, D], data: s1.slice(0, (N - 1) * D) });
  writeNpy(file("ids.npy"), { dtype: "int32", shape: [N], data: new Int32Array(N) });
  writeNpy(file("one.npy"), { dtype: "float32", shape: [1, D], data: s0.slice(0, D) });
  writeNpy(file("vec.npy"), { dtype: "float32", shape: [N * D], data: s0 });
  const nan = s0.slice();
  nan[17 * D + 2] = NaN;
  writeNpy(file("nan.npy"), { dtype: "float32", shape: [N, D], data: nan });
});

if (!nativeBlas()) console.warn(`test/cli/score.test.ts: native start-up test SKIPPED, ${nativeBlasStatus()}`);

const lastNumber = (stdout: string) => {
  const lines = stdout.trimEnd().split("\n");
  const last = lines[lines.length - 1];
  expect(last).toMatch(/^-?\d+\.\d+$/);
  return Number(last);
};

describe("linearity score", () => {
  it("prints the score of X -> Y as the last line, matching a float64 reference", async () => {
    const want = referenceScore(s0, s1, N, D, D);
    expect(want).toBeGreaterThan(0.5);
    expect(want).toBeLessThan(0.999); // a real test: not a trivially linear pair
    const r = await runInProcess(["score", file("x.npy"), file("y.npy"), "--digits", "10"]);
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain(`X: ${file("x.npy")} [tokens=200, d_model=6] float32`);
    expect(Math.abs(lastNumber(r.stdout) - want)).toBeLessThan(1e-5);
  });

  it("--residual scores X against Y - X", async () => {
    const want = referenceResidualScore(s0, s1, N, D);
    const r = await runInProcess(["score", file("x.npy"), file("y.npy"), "--residual", "--digits", "10"]);
    expect(r.stdout).toContain("X -> Y - X (residual removed)");
    expect(Math.abs(lastNumber(r.stdout) - want)).toBeLessThan(1e-5);
  });

  it("reads .safetensors and float64 .npy, and a narrower Y", async () => {
    const a = await runInProcess(["score", file("x.npy"), file("y.safetensors"), "--digits", "10", "--rows", "7"]);
    expect(Math.abs(lastNumber(a.stdout) - referenceScore(s0, s1, N, D, D))).toBeLessThan(1e-5);
    const b = await runInProcess(["score", file("y.npy"), file("z64.npy"), "--digits", "10"]);
    expect(Math.abs(lastNumber(b.stdout) - referenceScore(s1, s2, N, D, D))).toBeLessThan(1e-5);
    const narrow = s1.filter((_, k) => k % D < 3);
    const c = await runInProcess(["score", file("x.npy"), file("narrow.npy"), "--digits", "10"]);
    expect(Math.abs(lastNumber(c.stdout) - referenceScore(s0, narrow, N, D, 3))).toBeLessThan(1e-5);
  });

  it.each([
    [["missing.npy", "y.npy"], /missing\.npy: no such file/],
    [["x.npy", "short.npy"], /x\.npy has 200 tokens but .*short\.npy has 199; the rows must be the same tokens/],
    [["x.npy", "narrow.npy", "--residual"], /--residual needs the same d_model: .*x\.npy has 6, .*narrow\.npy has 3/],
    [["x.npy", "ids.npy"], /ids\.npy: expected a float \[tokens, d_model\] matrix, got dtype int32/],
    [["x.npy", "vec.npy"], /vec\.npy: expected shape \[tokens, d_model\], got \[1200\]/],
    [["one.npy", "one.npy"], /one\.npy: needs at least 2 tokens, has 1/],
    [["nan.npy", "y.npy"], /scoreFiles: '.*nan\.npy' has NaN at row 17, column 2/],
    [["x.npy", "y.npy", "--rows", "0"], /--rows must be a positive integer, got '0'/],
    [["x.npy", "y.npy", "--rcond", "abc"], /--rcond must be a positive number, got 'abc'/],
  ])("rejects %j", async (args, msg) => {
    const full = args.map((a) => (a.endsWith(".npy") ? file(a) : a));
    const r = await runInProcess(["score", ...full]);
    expect(r.error).toMatch(msg);
  });

  it("as a process: the number alone on the last line; errors are one line with exit status 1", () => {
    const ok = spawnCli(["score", file("x.npy"), file("y.safetensors")]);
    expect(ok.code).toBe(0);
    expect(Math.abs(lastNumber(ok.stdout) - referenceScore(s0, s1, N, D, D))).toBeLessThan(1e-6 + 5e-7);
    const bad = spawnCli(["score", file("x.npy"), file("short.npy")]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trimEnd().split("\n")).toEqual([
      `linearity: ${file("x.npy")} has 200 tokens but ${file("short.npy")} has 199; the rows must be the same tokens`,
    ]);
  });

  it.skipIf(!nativeBlas())("as a process on the native BLAS: loads the score command alone and no tfjs (start-up)", () => {
    const loaded = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "run-entry.ts"), "score", file("x.npy"), file("y.npy")], {
        encoding: "utf8",
        env: { ...process.env, LINEARITY_QUIET: "1", ...env },
        timeout: 60_000,
      });
      expect(r.status).toBe(0);
      expect(Math.abs(lastNumber(r.stdout) - referenceScore(s0, s1, N, D, D))).toBeLessThan(1e-6);
      return r.stderr.trimEnd().split("\n").pop()!;
    };
    const native = loaded({});
    expect(native).toMatch(/^loaded: \S*commands\/score(\.ts)?$/);
    // The fallback needs tfjs: the same probe sees it (so the probe works).
    expect(loaded({ LINEARITY_NATIVE: "0" })).toMatch(/@tensorflow\/tfjs-core/);
  });
});
