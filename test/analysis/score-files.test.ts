/**
 * scoreFiles on float64 files: each is centred in float64 before any cast to float32, so a large
 * offset (X = 1e8 + N(0, 1), where float32 keeps no digit of the spread) costs no accuracy.
 * Checked against the float64 reference of test/numerics/reference64.ts on the float64 data.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { scoreFiles } from "../../lib/analysis";
import { writeNpy } from "../../lib/io/npy";
import { gaussianMatrix } from "../numerics/reference";
import { difference, lsqReference } from "../numerics/reference64";

let dir: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-score-files-"));
});

describe("scoreFiles with float64 files", () => {
  it("centres in float64 before the cast: X = 1e8 + N(0, 1) scores as the float64 reference", async () => {
    const n = 800, d = 6;
    const z = gaussianMatrix(n, d, 3), e = gaussianMatrix(n, d, 4);
    const x = Float64Array.from(z.flat(), (v) => 1e8 + v);
    const y = Float64Array.from(z.flat(), (v, k) => 1e8 + v + Math.tanh(2 * v) + 0.3 * e[Math.floor(k / d)][k % d]);
    writeNpy(path.join(dir, "x.npy"), { dtype: "float64", shape: [n, d], data: x });
    writeNpy(path.join(dir, "y.npy"), { dtype: "float64", shape: [n, d], data: y });
    const r = await scoreFiles(path.join(dir, "x.npy"), path.join(dir, "y.npy"), { residual: true, rows: 300 });
    const ref = lsqReference(x, y, n, d, d, 1e-13);
    const refRes = lsqReference(x, difference(y, x), n, d, d, 1e-13);
    expect(ref.score).toBeGreaterThan(0.5); // the spread is there, in float64
    expect(Math.abs(r.score - ref.score)).toBeLessThan(1e-6);
    expect(Math.abs(r.residualScore! - refRes.score)).toBeLessThan(1e-6);
    expect(r.rank).toBe(d);
  });
});
