/**
 * `linearity moments`, `linearity merge`, `linearity score MOMENTS` and the score's companions
 * (`--groups`, `--folds`, `--jackknife`, `--json`) on the shipped data-samples dataset, checked
 * against the library and against the plain score of the exported states.
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readNpy } from "../../lib/io/npy";
import { runInProcess, tempDir } from "./helpers";

const DS = path.resolve(__dirname, "../../data-samples/hidden-states");
const dir = tempDir();
const at = (f: string) => path.join(dir, f);
const json = (f: string) => JSON.parse(fs.readFileSync(at(f), "utf8"));

beforeAll(async () => {
  await initBackend({ quiet: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("moments, merge and scores with floor, adjusted, cv and jackknife", () => {
  it("moments -> score: the table's scores equal 'score' of the exported states; merge of a file with itself leaves every score", async () => {
    const r = await runInProcess(["moments", DS, "--out", at("m.safetensors"), "--max-tokens", "4000"]);
    expect(r.error).toBeUndefined();
    expect(r.stdout).toMatch(/moments of 6 consecutive pairs, 4000 tokens, \d+ documents in \d+ units \(group mod 20\)/);
    expect((await runInProcess(["score", at("m.safetensors"), "--folds", "5", "--jackknife", "--json", at("m.json")])).error).toBeUndefined();
    const m = json("m.json");
    expect(m.pairs).toHaveLength(6);
    // The same pair from exported matrix files, with the exported group ids.
    for (const a of [["export", DS, "--state", "2", "--out", at("s2.npy")], ["export", DS, "--state", "3", "--out", at("s3.npy")], ["export", DS, "--groups", "--out", at("g.npy")]]) {
      expect((await runInProcess(a)).error).toBeUndefined();
    }
    const g = readNpy(at("g.npy"));
    expect(g.dtype).toBe("int32");
    // --max-tokens 4000 above: score the first 4,000 tokens of the exports the same way.
    const cut = (f: string, w: number) => {
      const v = readNpy(at(f));
      return { dtype: v.dtype, shape: [4000, ...v.shape.slice(1)], data: (v.data as Float32Array | Int32Array).subarray(0, 4000 * w) };
    };
    const { writeNpy } = await import("../../lib/io/npy");
    writeNpy(at("cs2.npy"), cut("s2.npy", 128) as never);
    writeNpy(at("cs3.npy"), cut("s3.npy", 128) as never);
    const groups = Int32Array.from((g.data as Int32Array).subarray(0, 4000), (v) => v);
    // Units by group mod 20 in the file: the same units from --groups when ids are taken mod 20.
    writeNpy(at("cg20.npy"), { dtype: "int32", shape: [4000], data: groups.map((v) => v % 20) });
    const s = await runInProcess(["score", at("cs2.npy"), at("cs3.npy"), "--groups", at("cg20.npy"), "--folds", "5", "--jackknife", "--json", at("s.json")]);
    expect(s.error).toBeUndefined();
    const p = json("s.json"), q = m.pairs[2].plain;
    for (const k of ["score", "floor", "adjusted", "cv"]) expect(Math.abs(p[k] - q[k])).toBeLessThan(1e-9);
    expect(p.rank).toBe(q.rank);
    expect(Math.abs(p.jackknife.se - q.jackknife.se)).toBeLessThan(1e-9);
    expect(p.jackknife.groups).toBe(q.jackknife.groups);
    // The plain score path agrees with the moments path.
    const plain = await runInProcess(["score", at("cs2.npy"), at("cs3.npy"), "--json", at("p.json")]);
    expect(plain.stdout).toContain("chance floor rank/(n-1): ");
    expect(Math.abs(json("p.json").score - q.score)).toBeLessThan(1e-9);
    expect(json("p.json").cv).toBeNull();
    // merge(m, m): every unit twice as many tokens, the same scores.
    expect((await runInProcess(["merge", at("m.safetensors"), at("m.safetensors"), "--out", at("mm.safetensors")])).error).toBeUndefined();
    expect((await runInProcess(["score", at("mm.safetensors"), "--json", at("mm.json")])).error).toBeUndefined();
    const mm = json("mm.json");
    expect(mm.n_tokens).toBe(8000);
    mm.pairs.forEach((pair: { plain: { score: number }; residual: { score: number } }, k: number) => {
      expect(Math.abs(pair.plain.score - m.pairs[k].plain.score)).toBeLessThan(1e-12);
      expect(Math.abs(pair.residual.score - m.pairs[k].residual.score)).toBeLessThan(1e-12);
    });
  });

  it("refuses to overwrite --json / --out it did not make, and --folds without --groups", async () => {
    fs.writeFileSync(at("taken.json"), "{}");
    const r = await runInProcess(["score", at("m.safetensors"), "--json", at("taken.json")]);
    expect(r.error).toMatch(/taken\.json: .*--force/);
    expect(fs.readFileSync(at("taken.json"), "utf8")).toBe("{}");
    expect((await runInProcess(["merge", at("m.safetensors"), "--out", at("m.safetensors")])).error).toMatch(/m\.safetensors/);
    expect((await runInProcess(["score", at("cs2.npy"), at("cs3.npy"), "--folds", "5"])).error).toContain("--folds and --jackknife need --groups G.npy");
  });
});
