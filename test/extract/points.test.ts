/**
 * `linearity extract --points`: sublayer states stored in the dataset, checked against the
 * float64 reference forward of test/models/reference (its own per-block sublayer states).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { buildProgram } from "../../lib/cli/main";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { extract } from "../../lib/extract/extract";
import { parsePoints } from "../../lib/extract/points";
import { readCheckpoint, type Rows } from "../models/reference/common";
import { llamaReference } from "../models/reference/llama";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "extract-points-"));
const TEXT = "Attention and MLP sublayers, scored one by one.\n".repeat(4);
let model = "";
let textFile = "";
let n = 0;
const out = (): string => path.join(tmp, `ds${n++}`);

beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(
    path.join(tmp, "byte-llama"),
    tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }),
  );
  textFile = path.join(tmp, "text.txt");
  fs.writeFileSync(textFile, TEXT);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Largest |stored - reference| over a sample's rows. */
function diff(stored: Float32Array, ref: Rows): number {
  const d = ref[0].length;
  expect(stored.length).toBe(ref.length * d);
  let worst = 0;
  ref.forEach((row, t) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(stored[t * d + i] - v)))));
  return worst;
}

describe("parsePoints", () => {
  it("orders points as stored, drops repeats, and refuses unknown names and resid_pre", () => {
    expect(parsePoints("resid_post, resid_mid,resid_post")).toEqual(["resid_mid", "resid_post"]);
    expect(parsePoints("ln_final,mlp_out,attn_out")).toEqual(["attn_out", "mlp_out", "ln_final"]);
    expect(() => parsePoints(" , ")).toThrow(/^--points: expected a comma-separated list of attn_out, resid_mid, mlp_out, resid_post, ln_final$/);
    expect(() => parsePoints("resid_mid,resid_middle")).toThrow(/^--points: unknown point 'resid_middle' \(choose from attn_out, resid_mid, mlp_out, resid_post, ln_final\)$/);
    expect(() => parsePoints("resid_pre")).toThrow(/^--points: 'resid_pre' is block l-1's resid_post/);
  });
});

describe("extract --points", () => {
  it("stores embed, each block's resid_mid and resid_post, and ln_final, equal to the float64 reference", async () => {
    const dir = out();
    const res = await extract({ model, text: textFile, out: dir, seqLen: 20, batchSize: 3, points: "resid_post,resid_mid,ln_final" });
    expect(res.complete).toBe(true);
    const ds = HiddenStateDataset.open(dir);
    const names = ["embed", "blocks.0.resid_mid", "blocks.0.resid_post", "blocks.1.resid_mid", "blocks.1.resid_post", "ln_final"];
    expect(ds.stateNames).toEqual(names);
    expect(ds.nStates).toBe(6);
    expect(ds.nLayers).toBe(2);
    expect(ds.manifest?.extra?.extraction).toMatchObject({ points: "resid_mid,resid_post,ln_final" });

    const ck = readCheckpoint(model);
    const ids = ds.tokenIds()!;
    for (const s of [ds.samples[0], ds.samples[ds.samples.length - 1]]) {
      const ref = llamaReference(ck, Array.from(ids.slice(s.offset, s.offset + s.nTokens)));
      const want = [ref.states[0], ref.blocks[0].resid_mid!, ref.blocks[0].resid_post, ref.blocks[1].resid_mid!, ref.blocks[1].resid_post, ref.lnFinal];
      want.forEach((w, b) => expect(diff(ds.rows(b, s.offset, s.offset + s.nTokens), w)).toBeLessThan(1e-4));
      // Not vacuous: the attention sublayer moves the stream (embed -> resid_mid differs).
      expect(diff(ds.rows(1, s.offset, s.offset + s.nTokens), ref.states[0])).toBeGreaterThan(1e-2);
    }

    // linearity inspect labels the states by name.
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      await (await buildProgram()).parseAsync(["node", "linearity", "inspect", dir, "--no-linearity"]);
    } finally {
      process.stdout.write = write;
    }
    expect(printed.join("")).toContain(`states    : sublayer points: ${names.join(", ")}`);
    expect(printed.join("")).toMatch(/\n\s*3 blocks\.1\.resid_mid\s/);
  });

  it("refuses to continue a dataset with other points, and to write into an hidden-states dataset", async () => {
    const dir = out();
    const first = await extract({ model, text: textFile, out: dir, seqLen: 16, batchSize: 1, maxBatches: 1, points: "resid_mid,resid_post" });
    expect(first.complete).toBe(false);
    await expect(extract({ model, text: textFile, out: dir, seqLen: 16, batchSize: 1, points: "attn_out" })).rejects.toThrow(
      /'points' resid_mid,resid_post \(this run: attn_out\)/,
    );
    await expect(extract({ model, text: textFile, out: dir, seqLen: 16, batchSize: 1 })).rejects.toThrow(
      /'points' resid_mid,resid_post \(this run: \(none\)\)/,
    );
    const done = await extract({ model, text: textFile, out: dir, seqLen: 16, batchSize: 1, points: "resid_post,resid_mid" });
    expect(done.complete).toBe(true);
  });

  it("linearity extract --points rejects an unknown point before doing any work", async () => {
    const dir = out();
    await expect(
      (await buildProgram()).parseAsync(["node", "linearity", "extract", "--model", model, "--text", textFile, "--out", dir, "--points", "resid_mid,mlp"]),
    ).rejects.toThrow("--points: unknown point 'mlp'");
    expect(fs.existsSync(dir)).toBe(false);
  });
});
