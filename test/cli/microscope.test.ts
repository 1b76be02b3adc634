/** `linearity anisotropy`, `intrinsic-dim` and `lens`: output format, values vs references, errors. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../../lib/backend";
import { writeNpy } from "../../lib/io/npy";
import { refAnisotropy, refTwoNN, refTwoNNMicroscope, rowsOf } from "../metrics/reference";
import { runInProcess, spawnCli, tempDir, toyStates } from "./helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);
const N = 300, D = 6;
const [x] = toyStates(1, N, D);
const MODEL = path.join(__dirname, "..", "..", "data-samples", "model");

beforeAll(async () => {
  process.env.LINEARITY_QUIET = "1";
  await initBackend();
  writeNpy(file("x.npy"), { dtype: "float32", shape: [N, D], data: x });
  const nan = x.slice();
  nan[5 * D + 1] = NaN;
  writeNpy(file("nan.npy"), { dtype: "float32", shape: [N, D], data: nan });
  // every row twice: all duplicates
  const dup = new Float32Array(N * D);
  for (let i = 0; i < N; i++) dup.set(x.subarray((i >> 1) * D, ((i >> 1) + 1) * D), i * D);
  writeNpy(file("dup.npy"), { dtype: "float32", shape: [N, D], data: dup });
  fs.writeFileSync(file("text.txt"), "The jury said it did find that many of the registration and election laws were outmoded.\n".repeat(3));
});

const lastNumber = (stdout: string) => {
  const lines = stdout.trimEnd().split("\n");
  const last = lines[lines.length - 1];
  expect(last).toMatch(/^-?\d+\.\d+$/);
  return Number(last);
};

describe("linearity anisotropy", () => {
  it("prints the anisotropy as the last line, matching the float64 reference", async () => {
    const r = await runInProcess(["anisotropy", file("x.npy"), "--rows", "64", "--digits", "9"]);
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain(`[tokens=${N}, d_model=${D}] float32`);
    expect(Math.abs(lastNumber(r.stdout) - refAnisotropy(rowsOf(x, D)))).toBeLessThan(1e-6);
  });

  it("names the file, row and column of a NaN, as a one-line error with exit status 1", () => {
    const r = spawnCli(["anisotropy", file("nan.npy")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^linearity: anisotropy: '.*nan\.npy' has NaN at row 5, column 1/);
  });
});

describe("linearity intrinsic-dim", () => {
  it("prints the TwoNN dimension as the last line; --keep-fraction and --max-tokens reach the fit", async () => {
    const r = await runInProcess(["intrinsic-dim", file("x.npy"), "--digits", "9"]);
    expect(r.error).toBeUndefined();
    expect(Math.abs(lastNumber(r.stdout) - refTwoNN(rowsOf(x, D), 0.9).dimension)).toBeLessThan(1e-6);
    const s = await runInProcess(["intrinsic-dim", file("x.npy"), "--keep-fraction", "0.2", "--max-tokens", "100", "--digits", "9"]);
    expect(s.stdout).toContain(`[tokens=100 of ${N}, d_model=${D}]`);
    expect(Math.abs(lastNumber(s.stdout) - refTwoNN(rowsOf(x.slice(0, 100 * D), D), 0.2).dimension)).toBeLessThan(1e-6);
    // LLM-Microscope's estimator, with its keep fraction 0.2 by default
    const m = await runInProcess(["intrinsic-dim", file("x.npy"), "--estimator", "llm-microscope", "--digits", "9"]);
    expect(m.stdout).toContain("(estimator llm-microscope, keep fraction 0.2)");
    expect(Math.abs(lastNumber(m.stdout) - refTwoNNMicroscope(rowsOf(x, D)).dimension)).toBeLessThan(1e-6);
  });

  it.each([
    [["--keep-fraction", "0"], /--keep-fraction must be a number in \(0, 1\], got '0'/],
    [["--max-tokens", "2"], /needs at least 3 tokens, has 2/],
    [["FILE", "dup.npy"], /dup\.npy: the dimension is undefined \(0 points to fit, needs 2\): 300 of 300 tokens have an identical twin, 0 points to fit/],
    [["--estimator", "x"], /--estimator must be one of standard, llm-microscope, got 'x'/],
  ])("rejects %j", async (args, msg) => {
    const argv = args[0] === "FILE" ? [file(args[1])] : [file("x.npy"), ...args];
    expect((await runInProcess(["intrinsic-dim", ...argv])).error).toMatch(msg);
  });
});

describe("linearity lens", () => {
  it("writes ids, per-state loss and top-1 as JSON and prints a table; the last state's loss is the model's", async () => {
    const out = file("lens.json");
    const r = await runInProcess(["lens", "--model", MODEL, "--text", file("text.txt"), "--max-tokens", "200", "--seq-len", "64", "--json", out]);
    expect(r.error).toBeUndefined();
    const j = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(j.ids.map((s: number[]) => s.length)).toEqual([64, 64, 64, 8]);
    expect(j.ids[0][0]).toBe(256); // BOS
    expect(j.loss).toHaveLength(7);
    expect(j.top1).toHaveLength(7);
    expect(j.positions).toBe(63 * 3 + 7);
    expect(Math.abs(j.loss[6] - j.model_loss)).toBeLessThan(1e-6);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^4 sequences, 196 predicted positions; model's own loss \d+\.\d{4} nats$/);
    expect(lines[1].trim().split(/\s+/)).toEqual(["state", "loss", "(nats)", "top-1"]);
    expect(lines).toHaveLength(2 + 7);
    expect(Number(lines[8].trim().split(/\s+/)[1])).toBeCloseTo(j.loss[6], 4);
  });

  it("rejects a missing model folder in one line", () => {
    const r = spawnCli(["lens", "--model", file("nowhere"), "--text", file("text.txt")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});
