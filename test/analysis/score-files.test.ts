/**
 * scoreFiles on float64 files: each is centred in float64 before any cast to float32, so a large
 * offset (X = 1e8 + N(0, 1), where float32 keeps no digit of the spread) costs no accuracy.
 * Checked against the float64 reference of test/numerics/reference64.ts on the float64 data.
 * And the reused read buffers of float32 files (npyRowReader): every score, residual score, cv
 * and jackknife bit-identical to the accumulators fed fresh copies of the same chunks.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { scoreFiles } from "../../lib/analysis";
import { scoreFileStats } from "../../lib/analysis/score-files";
import { openNpy, readNpyRows, writeNpy } from "../../lib/io/npy";
import { LinearityAccumulator } from "../../lib/metrics/linearity-accumulator";
import { pairStats } from "../../lib/metrics/linearity-stats";
import { MomentAccumulator } from "../../lib/numerics/moment-accumulator";
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

describe("scoreFiles reads float32 files into reused buffers", () => {
  // 9,000 rows: two full 4,096-row chunks and a shorter one; at 700 rows per read the accumulator
  // first holds chunks back (copies), then takes them as they come.
  const n = 9000, dx = 12, dy = 10;
  let xf: string, yf: string;
  beforeAll(() => {
    const z = gaussianMatrix(n, dx, 11), e = gaussianMatrix(n, dy, 12);
    const x = Float32Array.from(z.flat(), (v, k) => (k % dx < 2 ? 100 : 1) * v + 3);
    const y = Float32Array.from({ length: n * dy }, (_, k) => {
      const t = Math.floor(k / dy), c = k % dy;
      return x[t * dx + c] + 0.5 * Math.tanh(z[t][(c + 1) % dx]) + 0.05 * e[t][c];
    });
    xf = path.join(dir, "x32.npy");
    yf = path.join(dir, "y32.npy");
    writeNpy(xf, { dtype: "float32", shape: [n, dx], data: x });
    writeNpy(yf, { dtype: "float32", shape: [n, dy], data: y });
  });
  /** Fresh copies of the chunks, as before the reuse. */
  function* fresh(step: number): Generator<{ start: number; x: Float32Array; y: Float32Array }> {
    const hx = openNpy(xf), hy = openNpy(yf);
    for (let s = 0; s < n; s += step) yield { start: s, x: readNpyRows(hx, s, Math.min(n, s + step)), y: readNpyRows(hy, s, Math.min(n, s + step)) };
  }

  it.each([4096, 700])("score and rank at %i rows per read equal the accumulator fed fresh chunks, bit for bit", async (rows) => {
    const r = await scoreFiles(xf, yf, { rows });
    const acc = new LinearityAccumulator(dx, dy, { storage: "float32", fn: "scoreFiles", names: [xf, yf] });
    for (const c of fresh(rows)) acc.add(c.x, c.y);
    const ref = acc.result();
    expect(r.score).toBe(ref.score);
    expect(r.rank).toBe(ref.rank);
    expect(r.score).toBeGreaterThan(0.5);
  });

  it("the residual score (X against Y - X, the difference formed from the reused rows) equals the fresh chunks, bit for bit", async () => {
    const hx = openNpy(xf), x = readNpyRows(hx, 0, n);
    const w = path.join(dir, "w32.npy");
    writeNpy(w, { dtype: "float32", shape: [n, dx], data: Float32Array.from(x, (v, k) => 0.9 * v + Math.cos(k)) });
    const r = await scoreFiles(xf, w, { residual: true });
    const acc = new LinearityAccumulator(dx, dx, { storage: "float32", fn: "scoreFiles", names: [xf, w], residual: true });
    const hw = openNpy(w);
    for (let s = 0; s < n; s += 4096) acc.add(readNpyRows(hx, s, Math.min(n, s + 4096)), readNpyRows(hw, s, Math.min(n, s + 4096)));
    const ref = acc.result();
    expect(r.residualScore).toBe(ref.residualScore);
    expect(r.score).toBe(ref.score);
    expect(r.residualScore).toBeGreaterThan(0.1);
  });

  it("--folds and --jackknife (per-group moments) equal the accumulator fed fresh chunks, bit for bit", async () => {
    const g = Int32Array.from({ length: n }, (_, t) => Math.floor((t * 50) / n));
    const gf = path.join(dir, "g.npy");
    writeNpy(gf, { dtype: "int32", shape: [n], data: g });
    const s = await scoreFileStats(xf, yf, { rows: 700, groupsFile: gf, folds: 5, jackknife: true });
    const acc = new MomentAccumulator({
      fn: "scoreFiles",
      states: [{ name: xf, dim: dx, dtype: "float32" }, { name: yf, dim: dy, dtype: "float32" }],
      products: [[0, 0], [0, 1]],
      unitRule: s.units,
    });
    for (const c of fresh(700)) acc.add([c.x, c.y], g.subarray(c.start, c.start + c.x.length / dx));
    const ref = pairStats(acc.result(), 0, 1, { folds: 5, jackknife: true, fn: "scoreFiles" });
    expect(s.score).toBe(ref.score);
    expect(s.cv).toBe(ref.cv);
    expect(s.jackknife!.se).toBe(ref.jackknife!.se);
    expect(s.cv).toBeGreaterThan(0.5);
  });
});
