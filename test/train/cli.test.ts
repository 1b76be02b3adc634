import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../lib/cli/main";

/** Run `linearity train ...` in-process; resolves or rejects with the command's error. */
async function run(...args: string[]): Promise<unknown> {
  return (await buildProgram()).parseAsync(["node", "linearity", "train", ...args]);
}

describe("linearity train (argument errors)", () => {
  const out = path.join(os.tmpdir(), "linearity-train-cli-never-written");

  it("names the option whose value is not a number", async () => {
    await expect(run("--out", out, "--seq-len", "abc")).rejects.toThrow(/--seq-len must be an integer, got 'abc'/);
    await expect(run("--out", out, "--lr", "fast")).rejects.toThrow(/--lr must be a number, got 'fast'/);
    await expect(run("--out", out, "--snapshot-steps", "1,x")).rejects.toThrow(/--snapshot-steps must be an integer, got 'x'/);
  });

  it("rejects an unknown corpus and out-of-range values before training", async () => {
    await expect(run("--out", out, "--corpus", "wiki")).rejects.toThrow(/train: --corpus 'wiki' is not known \(available: brown\)/);
    await expect(run("--out", out, "--d-model", "130", "--n-heads", "4")).rejects.toThrow(/d_model=130 is not divisible by n_heads=4/);
    await expect(run("--out", out, "--beta2", "1")).rejects.toThrow(/--beta2 expected a number in \[0, 1\), got 1/);
    await expect(run("--out", out, "--final-dtype", "int8")).rejects.toThrow(/--final-dtype expected float16 or float32, got 'int8'/);
    await expect(run("--out", out, "--reg", "l2")).rejects.toThrow(/train: --reg expected one of none, cosine, mse, mse-mean, got 'l2'/);
    await expect(run("--out", out, "--reg", "cosine", "--reg-weight", "x")).rejects.toThrow(/--reg-weight must be a number, got 'x'/);
    await expect(run("--out", out, "--reg-weight", "0.5")).rejects.toThrow(/train: --reg-weight has no effect without --reg cosine, mse or mse-mean/);
  });
});
