import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend";
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { f16BitsToF32, f32ToF16Bits } from "../../lib/io/f16";
import { readNpy } from "../../lib/io/npy";
import { MODEL, expectedRows, makeBatch, tag, tempDir, tokenId } from "./helpers";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend({ quiet: true });
});

const S = MODEL.n_layers + 1;
const D = MODEL.d_model;

/** Write shards of samples with the given lengths; returns the folder. */
function writeDataset(name: string, shards: number[][], opts: { dtype?: "float16" | "float32"; tags?: boolean; finish?: boolean } = {}): string {
  const dir = path.join(root, name);
  const w = HiddenStateWriter.open(dir, { model: MODEL, dtype: opts.dtype ?? "float32", extra: { corpus: "test" } });
  let t = 0;
  for (const lengths of shards) {
    const { samples, states } = makeBatch(lengths, t, S, D, { tags: opts.tags });
    w.append(samples, states);
    t += lengths.reduce((a, b) => a + b, 0);
  }
  if (opts.finish ?? true) w.finish();
  return dir;
}

describe("HiddenStateWriter + HiddenStateDataset (own format)", () => {
  const shards = [[3, 4, 2], [5], [1, 6]]; // 21 tokens, 6 samples, 3 shards
  let dir: string;
  beforeAll(() => {
    dir = writeDataset("basic", shards, { tags: true });
  });

  it("writes the documented layout and manifest", () => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
    expect(m.format).toBe("linearity-lab/hidden-states");
    expect(m.version).toBe(1);
    expect([m.n_layers, m.n_states, m.d_model, m.dtype, m.complete]).toEqual([3, 4, 5, "float32", true]);
    expect([m.n_samples, m.n_tokens]).toEqual([6, 21]);
    expect(m.model).toEqual(MODEL);
    expect(m.extra).toEqual({ corpus: "test" });
    expect(m.samples.map((s: { offset: number }) => s.offset)).toEqual([0, 3, 7, 9, 14, 15]);
    expect(m.shards.map((s: { dir: string }) => s.dir)).toEqual(["shards/00000", "shards/00001", "shards/00002"]);
    expect(fs.readdirSync(path.join(dir, "shards/00000")).sort()).toEqual(
      ["state_00.npy", "state_01.npy", "state_02.npy", "state_03.npy", "tags.json", "token_ids.npy"],
    );
    // Shard files are plain .npy: check one straight through the npy reader.
    const s2 = readNpy(path.join(dir, "shards/00001/state_02.npy"));
    expect(s2.shape).toEqual([5, D]);
    expect(Array.from(s2.data)).toEqual(expectedRows(2, 9, 14, D));
  });

  it("reads dimensions, samples, rows across shard boundaries and whole states", () => {
    const ds = HiddenStateDataset.open(dir);
    expect([ds.layout, ds.nStates, ds.nLayers, ds.dModel, ds.nTokens, ds.dtype, ds.complete]).toEqual(
      ["linearity-lab", 4, 3, 5, 21, "float32", true],
    );
    expect(ds.samples[1]).toEqual({ nTokens: 4, offset: 3, text: "sample starting at 3", source: "doc-3" });
    for (const [s, e] of [[0, 21], [8, 10], [9, 9], [2, 20], [14, 15], [20, 21]]) {
      for (let b = 0; b < S; b++) expect(Array.from(ds.rows(b, s, e))).toEqual(expectedRows(b, s, e, D));
    }
    expect(Array.from(ds.state(3))).toEqual(expectedRows(3, 0, 21, D));
  });

  it("stateTensor gives a [tokens, d_model] tensor", () => {
    const ds = HiddenStateDataset.open(dir);
    const t = ds.stateTensor(1);
    expect(t.shape).toEqual([21, 5]);
    expect(Array.from(t.dataSync())).toEqual(expectedRows(1, 0, 21, D));
    t.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it("chunks stream every row once, for chosen states, across shards", () => {
    const ds = HiddenStateDataset.open(dir);
    const seen: number[] = [];
    for (const c of ds.chunks({ rows: 4, states: [3, 0] })) {
      expect(c.rows).toBe(Math.min(4, 21 - c.start));
      expect(Array.from(c.states[0])).toEqual(expectedRows(3, c.start, c.start + c.rows, D));
      expect(Array.from(c.states[1])).toEqual(expectedRows(0, c.start, c.start + c.rows, D));
      seen.push(c.start);
    }
    expect(seen).toEqual([0, 4, 8, 12, 16, 20]);
    const all = [...ds.chunks()];
    expect(all.length).toBe(1);
    expect(all[0].states.length).toBe(4);
  });

  it("token ids and tags, flattened per token", () => {
    const ds = HiddenStateDataset.open(dir);
    expect(Array.from(ds.tokenIds()!)).toEqual(Array.from({ length: 21 }, (_, t) => tokenId(t)));
    expect(ds.tags()).toEqual(Array.from({ length: 21 }, (_, t) => tag(t)));
  });

  it("tags() is undefined when samples have no tags", () => {
    const ds = HiddenStateDataset.open(writeDataset("notags", [[2, 2]]));
    expect(ds.tags()).toBeUndefined();
    expect(ds.tokenIds()!.length).toBe(4);
  });

  it("rejects bad state and row arguments with the valid range", () => {
    const ds = HiddenStateDataset.open(dir);
    expect(() => ds.rows(4, 0, 1)).toThrow(/state 4 out of range 0\.\.3 \(the dataset has 4 states\)/);
    expect(() => ds.state(-1)).toThrow(/state -1 out of range 0\.\.3/);
    expect(() => ds.rows(0, 5, 22)).toThrow(/rows 5\.\.22 out of range 0\.\.21/);
    expect(() => ds.rows(0, 5, 4)).toThrow(/rows 5\.\.4 out of range/);
    expect(() => [...ds.chunks({ rows: 0 })]).toThrow(/chunks: rows must be a positive integer, got 0/);
    expect(() => [...ds.chunks({ states: [9] })]).toThrow(/state 9 out of range/);
    expect(() => [...ds.chunks({ start: 3, end: 30 })]).toThrow(/token range 3\.\.30 out of range 0\.\.21/);
  });
});

describe("float16 datasets", () => {
  it("store values rounded to float16 and read them back as float32", () => {
    const dir = writeDataset("f16", [[4, 3], [2]], { dtype: "float16" });
    const ds = HiddenStateDataset.open(dir);
    expect(ds.dtype).toBe("float16");
    const round = (x: number) => f16BitsToF32(f32ToF16Bits(x));
    for (let b = 0; b < S; b++) expect(Array.from(ds.rows(b, 2, 9))).toEqual(expectedRows(b, 2, 9, D, round));
    expect(fs.statSync(path.join(dir, "shards/00000/state_00.npy")).size).toBe(128 + 7 * D * 2);
  });
});

describe("writer argument checks", () => {
  const dir = () => path.join(root, "args-" + Math.random().toString(36).slice(2));

  it("refuses bad init", () => {
    expect(() => HiddenStateWriter.open(dir(), { model: { ...MODEL, n_layers: 0 }, dtype: "float32" })).toThrow(/model\.n_layers must be a positive integer, got 0/);
    expect(() => HiddenStateWriter.open(dir(), { model: { ...MODEL, d_model: 2.5 }, dtype: "float32" })).toThrow(/model\.d_model must be a positive integer, got 2\.5/);
    expect(() => HiddenStateWriter.open(dir(), { model: { ...MODEL, name: "" }, dtype: "float32" })).toThrow(/model\.name is required/);
    expect(() => HiddenStateWriter.open(dir(), { model: MODEL, dtype: "bfloat16" as never })).toThrow(/dtype must be "float16" or "float32", got "bfloat16"/);
  });

  it("refuses appends whose shapes do not match, non-finite values and float16 overflow", () => {
    const w = HiddenStateWriter.open(dir(), { model: MODEL, dtype: "float16" });
    const { samples, states } = makeBatch([2, 3], 0, S, D, { tags: true });
    expect(() => w.append(samples, states.slice(0, 3))).toThrow(/append: expected 4 states \(n_layers \+ 1\), got 3/);
    expect(() => w.append(samples.slice(0, 1), states)).toThrow(
      /append: state 0 expected shape \[tokens=2, d_model=5\] \(10 values\), got 25 values/,
    );
    expect(() => w.append([{ ...samples[0], tags: ["a"] }, samples[1]], states)).toThrow(/samples\[0\] has 1 tags for 2 tokens/);
    expect(() => w.append([{ tokenIds: new Int32Array(0) }], states.map(() => new Float32Array(0)))).toThrow(/samples\[0\] has no tokens/);
    expect(() => w.append([{ tokenIds: [1, 2] as never }], states)).toThrow(/tokenIds must be an Int32Array/);
    const nan = states.map((s) => s.slice());
    nan[2][3 * D + 4] = NaN;
    expect(() => w.append(samples, nan)).toThrow(/append: 'state 2' has NaN at row 3, column 4/);
    const big = states.map((s) => s.slice());
    big[1][D + 1] = 70000;
    expect(() => w.append(samples, big)).toThrow(/state 1 value 70000 at row 1, column 1 overflows float16 \(max 65504\)/);
    const edge = states.map((s) => s.slice());
    edge[0][0] = -65520; // the first value float16 rounds to -Inf
    expect(() => w.append(samples, edge)).toThrow(/state 0 value -65520 at row 0, column 0 overflows float16/);
    // A NaN after an overflow in the same state is named first (the finite check comes first);
    // an overflow in an earlier state comes before a NaN in a later one.
    const both = states.map((s) => s.slice());
    both[1][D + 1] = 70000;
    both[1][3 * D + 2] = -Infinity;
    expect(() => w.append(samples, both)).toThrow("append: 'state 1' has -Infinity at row 3, column 2");
    both[1][3 * D + 2] = 0;
    both[2][0] = NaN;
    expect(() => w.append(samples, both)).toThrow(
      "append: state 1 value 70000 at row 1, column 1 overflows float16 (max 65504); write the dataset as float32",
    );
    expect(() => w.append(samples, [...states.slice(0, 3), Array.from(states[3]) as never])).toThrow(/state 3 must be a Float32Array/);
    // Nothing was committed by the failed appends.
    expect(w.committedSamples).toBe(0);
    w.append([], states.map(() => new Float32Array(0))); // empty append is a no-op
    const justBelow = states.map((s) => s.slice());
    justBelow[0][0] = 65519; // rounds to 65504, the largest float16
    w.append(samples, justBelow);
    expect([w.committedSamples, w.committedTokens]).toEqual([2, 5]);
    w.finish();
    expect(() => w.append(samples, states)).toThrow(/append after finish/);
  });

  it("refuses to reuse a finished, incompatible or foreign folder", () => {
    const done = writeDataset("done", [[2]]);
    expect(() => HiddenStateWriter.open(done, { model: MODEL, dtype: "float32" })).toThrow(/already complete/);
    const open = writeDataset("unfinished", [[2]], { finish: false });
    expect(() => HiddenStateWriter.open(open, { model: { ...MODEL, d_model: 6 }, dtype: "float32" })).toThrow(
      /cannot resume, the existing dataset differs \(d_model 5 vs 6\)/,
    );
    expect(() => HiddenStateWriter.open(open, { model: MODEL, dtype: "float16" })).toThrow(/dtype float32 vs float16/);
    expect(() => HiddenStateWriter.open(open, { model: { ...MODEL, name: "other" }, dtype: "float32" })).toThrow(/model 'tiny-test' vs 'other'/);
    fs.writeFileSync(path.join(open, "manifest.json"), "{ truncated");
    expect(() => HiddenStateWriter.open(open, { model: MODEL, dtype: "float32" })).toThrow(/unfinished.manifest\.json: not valid JSON/);
    const foreign = path.join(root, "foreign");
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, "notes.txt"), "x");
    expect(() => HiddenStateWriter.open(foreign, { model: MODEL, dtype: "float32" })).toThrow(/folder is not empty and has no manifest\.json \(found notes\.txt\)/);
    const file = path.join(root, "a-file");
    fs.writeFileSync(file, "x");
    expect(() => HiddenStateWriter.open(file, { model: MODEL, dtype: "float32" })).toThrow(/exists and is not a folder/);
  });
});

describe("crash safety and resume", () => {
  it("an uncommitted shard (files written, manifest not updated) is invisible and replaced on resume", () => {
    const dir = writeDataset("crash", [[3, 2]], { finish: false });
    // Simulate a crash during the second append: a complete-looking shard folder that the
    // manifest does not list, a half-written temp folder, and a manifest temp file.
    const orphan = path.join(dir, "shards/00001");
    fs.mkdirSync(orphan);
    fs.writeFileSync(path.join(orphan, "state_00.npy"), "garbage from a killed writer");
    fs.mkdirSync(path.join(dir, "shards/.00002.tmp-999-abc"));
    fs.writeFileSync(path.join(dir, ".manifest.json.tmp-999-abc"), "{ half");

    // Readers see exactly the committed data.
    const before = HiddenStateDataset.open(dir);
    expect([before.nTokens, before.samples.length, before.complete]).toEqual([5, 2, false]);
    expect(Array.from(before.state(2))).toEqual(expectedRows(2, 0, 5, D));

    // The writer resumes after the committed samples and clears the leftovers.
    const w = HiddenStateWriter.open(dir, { model: MODEL, dtype: "float32" });
    expect([w.committedSamples, w.committedTokens]).toEqual([2, 5]);
    expect(fs.readdirSync(path.join(dir, "shards"))).toEqual(["00000"]);
    expect(fs.existsSync(path.join(dir, ".manifest.json.tmp-999-abc"))).toBe(false);
    const { samples, states } = makeBatch([4], 5, S, D);
    w.append(samples, states);
    w.finish();
    const after = HiddenStateDataset.open(dir);
    expect([after.nTokens, after.samples.length, after.complete]).toEqual([9, 3, true]);
    for (let b = 0; b < S; b++) expect(Array.from(after.state(b))).toEqual(expectedRows(b, 0, 9, D));
  });

  it("a writer killed at a random moment (SIGKILL) leaves a valid dataset that resumes", async () => {
    const { spawn } = await import("child_process");
    const dir = path.join(root, "killed");
    const script = path.join(__dirname, "write-forever.ts");
    const child = spawn(process.execPath, ["--import", "tsx", script, dir], { stdio: ["ignore", "pipe", "inherit"] });
    // Wait until at least two shards are committed, then kill without warning.
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        if ((out.match(/committed/g) ?? []).length >= 2) resolve();
      });
      child.on("exit", (code) => reject(new Error(`writer exited early (${code})`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    const ds = HiddenStateDataset.open(dir);
    expect(ds.complete).toBe(false);
    expect(ds.samples.length).toBeGreaterThanOrEqual(2);
    for (let b = 0; b < S; b++) expect(Array.from(ds.state(b))).toEqual(expectedRows(b, 0, ds.nTokens, D));
    expect(Array.from(ds.tokenIds()!)).toEqual(Array.from({ length: ds.nTokens }, (_, t) => tokenId(t)));
    const w = HiddenStateWriter.open(dir, { model: MODEL, dtype: "float32" });
    expect(w.committedTokens).toBe(ds.nTokens);
    const { samples, states } = makeBatch([3], ds.nTokens, S, D);
    w.append(samples, states);
    w.finish();
    const again = HiddenStateDataset.open(dir);
    expect(again.nTokens).toBe(ds.nTokens + 3);
    expect(Array.from(again.state(1))).toEqual(expectedRows(1, 0, again.nTokens, D));
  });
});

describe("reader errors name the file and the problem", () => {
  it("missing folder, a file, a folder that is not a dataset", () => {
    expect(() => HiddenStateDataset.open(path.join(root, "nothing"))).toThrow(/nothing: no such folder/);
    const f = path.join(root, "plain-file");
    fs.writeFileSync(f, "x");
    expect(() => HiddenStateDataset.open(f)).toThrow(/plain-file: not a folder/);
    const empty = path.join(root, "empty");
    fs.mkdirSync(empty);
    expect(() => HiddenStateDataset.open(empty)).toThrow(/empty: not a hidden-state dataset \(no manifest\.json and no block0\/ folder\)/);
  });

  it("corrupt or inconsistent manifests", () => {
    const base = writeDataset("m-base", [[2, 3], [4]]);
    const good = JSON.parse(fs.readFileSync(path.join(base, "manifest.json"), "utf8"));
    const cases: [(m: any) => unknown, RegExp][] = [
      [() => "{ nope", /manifest\.json: not valid JSON/],
      [(m) => ({ ...m, format: "other" }), /format is "other", expected "linearity-lab\/hidden-states"/],
      [(m) => ({ ...m, version: 2 }), /format version 2 is not supported/],
      [(m) => ({ ...m, n_states: 3 }), /'n_states' must be n_layers \+ 1 = 4, got 3/],
      [(m) => ({ ...m, d_model: 0 }), /'d_model' must be a positive integer, got 0/],
      [(m) => ({ ...m, dtype: "int8" }), /'dtype' must be "float16" or "float32", got "int8"/],
      [(m) => ({ ...m, n_tokens: 8 }), /'n_tokens' is 8 but the samples hold 9 tokens/],
      [(m) => ({ ...m, samples: m.samples.map((s: any, i: number) => (i === 1 ? { ...s, offset: 1 } : s)) }), /samples\[1\]\.offset is 1, expected 2/],
      [(m) => ({ ...m, shards: m.shards.slice(1) }), /shards\[0\] starts at sample 2, token 5; expected sample 0, token 0/],
      [(m) => ({ ...m, shards: m.shards.slice(0, 1) }), /shards hold 2 samples but 3 are listed/],
      [(m) => ({ ...m, shards: [{ ...m.shards[0], dir: "../x" }, m.shards[1]] }), /shards\[0\]\.dir must be a relative folder/],
    ];
    cases.forEach(([edit, msg], k) => {
      const dir = path.join(root, `m-${k}`);
      fs.cpSync(base, dir, { recursive: true });
      const e = edit(good);
      fs.writeFileSync(path.join(dir, "manifest.json"), typeof e === "string" ? e : JSON.stringify(e));
      expect(() => HiddenStateDataset.open(dir)).toThrow(msg);
    });
  });

  it("missing, truncated or mis-shaped shard files", () => {
    const base = writeDataset("s-base", [[2, 3], [4]]);
    const d1 = path.join(root, "s-missing");
    fs.cpSync(base, d1, { recursive: true });
    fs.rmSync(path.join(d1, "shards/00001/state_02.npy"));
    expect(() => HiddenStateDataset.open(d1)).toThrow(/shards.00001.state_02\.npy: no such file/);
    const d2 = path.join(root, "s-trunc");
    fs.cpSync(base, d2, { recursive: true });
    const f = path.join(d2, "shards/00000/state_01.npy");
    fs.truncateSync(f, fs.statSync(f).size - 3);
    expect(() => HiddenStateDataset.open(d2)).toThrow(/state_01\.npy: truncated \.npy data/);
    const d3 = path.join(root, "s-shape");
    fs.cpSync(base, d3, { recursive: true });
    fs.copyFileSync(path.join(d3, "shards/00001/state_03.npy"), path.join(d3, "shards/00000/state_03.npy"));
    expect(() => HiddenStateDataset.open(d3)).toThrow(/00000.state_03\.npy: expected shape \[tokens=5, d_model=5\], got \[4, 5\]/);
    const d4 = path.join(root, "s-ids");
    fs.cpSync(base, d4, { recursive: true });
    fs.copyFileSync(path.join(d4, "shards/00001/token_ids.npy"), path.join(d4, "shards/00000/token_ids.npy"));
    expect(() => HiddenStateDataset.open(d4).tokenIds()).toThrow(/00000.token_ids\.npy: expected shape \[tokens=5\], got \[4\]/);
  });
});
