/**
 * A rank is a property of the data: the precision cut must give the same rank (and so the same
 * floor and adjusted score) on the native route (OpenBLAS dsyrk / dgemm, LAPACK dsyevr) and on
 * the JavaScript one (products-float64.ts's blocked sums, ml-matrix's eigensolver), whatever OpenBLAS
 * kernel runs. The shipped states' state 0 is token embeddings: many repeated rows, so its
 * centred Gram is exactly rank-deficient (rank = distinct rows - 1) and its null directions are
 * pure float64 summation rounding, which differs between the routes: before the Gram floor scaled
 * with sqrt(m) (cut.ts) and the JavaScript sums were blocked, declared float32, the native route
 * kept 61-63 of them at 960 tokens (depending on the kernel) and the JavaScript one 83.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { nativeBlas } from "../../lib/native";
import { type RouteRanks, SAMPLES, routeRanks } from "./rank-routes-probe";

const PROBE = path.join(__dirname, "rank-routes-probe.ts");

/** The probe in a child process, with `env` added (e.g. LINEARITY_NATIVE=0: JavaScript products and solves). */
function inChild(tokens: number, dtype: string, env: Record<string, string>): RouteRanks {
  const r = spawnSync(process.execPath, ["--import", "tsx", PROBE, String(tokens), dtype], { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`rank-routes-probe.ts failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as RouteRanks;
}

/** Distinct rows among the first `tokens` of state 0 (its centred rank is this minus 1). */
function distinctRows(tokens: number): number {
  const ds = HiddenStateDataset.open(SAMPLES);
  const seen = new Set<string>();
  for (const c of ds.chunks({ rows: 4096, end: tokens })) {
    const x = c.states[0], d = ds.dModel;
    for (let t = 0; t < c.rows; t++) seen.add(Buffer.from(x.buffer, x.byteOffset + t * d * 4, d * 4).toString("base64"));
  }
  return seen.size;
}

function expectSame(a: RouteRanks, b: RouteRanks, what: string): void {
  a.pairs.forEach((p, k) => {
    expect(b.pairs[k][0], `${what}: rank of pair ${k}`).toBe(p[0]);
    for (let f = 1; f < 4; f++) expect(Math.abs(b.pairs[k][f] - p[f]), `${what}: pair ${k} field ${f}`).toBeLessThan(1e-9);
  });
}

describe("the precision cut's rank does not depend on the route", () => {
  for (const tokens of [500, 960, 2000]) {
    it(`declared float32, first ${tokens} tokens: state 0 at distinct rows - 1 on every route`, () => {
      const want = distinctRows(tokens) - 1;
      const here = routeRanks(tokens, "float32");
      expect(here.pairs[0][0]).toBe(want);
      expectSame(here, routeRanks(tokens, "float32", false), "JavaScript products in this process");
      expectSame(here, inChild(tokens, "float32", { LINEARITY_NATIVE: "0" }), "LINEARITY_NATIVE=0");
    }, 60_000);
  }

  it("the shipped dtype (float16), all 16,000 tokens: every pair alike on both routes", () => {
    const here = routeRanks(16_000, undefined);
    expect(here.pairs[0][0]).toBe(distinctRows(16_000) - 1);
    expectSame(here, inChild(16_000, "-", { LINEARITY_NATIVE: "0" }), "LINEARITY_NATIVE=0");
  }, 120_000);

  // Other OpenBLAS kernels round the sums differently (SkylakeX kept 63 at 960 tokens before).
  const flags = (() => {
    try {
      return require("node:fs").readFileSync("/proc/cpuinfo", "utf8") as string;
    } catch {
      return "";
    }
  })();
  const cores = ["PRESCOTT", ...(/\bavx2\b/.test(flags) ? ["HASWELL"] : []), ...(/\bavx512f\b/.test(flags) && /\bavx512bw\b/.test(flags) ? ["SKYLAKEX"] : [])];
  it.skipIf(!nativeBlas())(`declared float32, 960 tokens: the same rank on OpenBLAS kernels ${cores.join(", ")}`, () => {
    const want = routeRanks(960, "float32", false);
    for (const core of cores) expectSame(want, inChild(960, "float32", { OPENBLAS_CORETYPE: core }), `OPENBLAS_CORETYPE=${core}`);
  }, 120_000);
});
