/**
 * Issue 20 low items about error lines: a NaN in a float64 file is named as a NaN (not "0.13
 * beyond float32's range"), and intrinsic-dim names the file instead of its argument 'x'.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { writeNpy } from "../../lib/io/npy";
import { runInProcess, tempDir, toyStates } from "./helpers";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("errors name the file and the real cause", () => {
  it("score on a float64 file with a NaN says NaN, with its row and column", async () => {
    const [a, b] = toyStates(2, 50, 4);
    const x = path.join(root, "x64.npy"), y = path.join(root, "y.npy");
    const x64 = Float64Array.from(a);
    x64[2 * 4 + 1] = NaN;
    writeNpy(x, { dtype: "float64", shape: [50, 4], data: x64 } as never);
    writeNpy(y, { dtype: "float32", shape: [50, 4], data: b });
    const r = await runInProcess(["score", x, y]);
    expect(r.error).toBe(`${x}: has NaN at row 2, column 1`);
  });

  it("intrinsic-dim names the file for a NaN, not 'x'", async () => {
    const [a] = toyStates(1, 50, 4);
    a[3 * 4 + 2] = NaN;
    const x = path.join(root, "nan.npy");
    writeNpy(x, { dtype: "float32", shape: [50, 4], data: a });
    const r = await runInProcess(["intrinsic-dim", x]);
    expect(r.error).toBe(`${x}: has NaN at row 3, column 2`);
  });
});

describe("intrinsic-dim with a keep fraction too small to fit", () => {
  it("says how many points the fraction leaves to fit (0), not the token count", async () => {
    const [a] = toyStates(1, 200, 4);
    const x = path.join(root, "keep.npy");
    writeNpy(x, { dtype: "float32", shape: [200, 4], data: a });
    const r = await runInProcess(["intrinsic-dim", x, "--keep-fraction", "0.001"]);
    expect(r.error).toMatch(/the dimension is undefined \(0 points to fit, needs 2\)/);
    expect(r.error).not.toMatch(/leaving 200 points/);
  });
});
