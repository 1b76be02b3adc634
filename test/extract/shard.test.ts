/**
 * Sharded extraction (`--shard I/N`): the N shard datasets, read as one list, must be the
 * unsharded run byte for byte (token ids, tags, texts, sources, every state's stored bytes), each
 * shard a complete, resumable dataset that records its share; resuming and joining refuse shards
 * of other settings, duplicates, gaps and unfinished shards, naming them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { readManifest } from "../../lib/dataset/manifest";
import { extract, type ExtractOptions } from "../../lib/extract/extract";
import { parseShard, shardRange } from "../../lib/extract/shard";
import { runInProcess } from "../cli/helpers";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "shard-"));
let model = "";
// Brown with --spread and a token budget: several documents, tags, a shortened last sequence.
const base = (): Omit<ExtractOptions, "out"> => ({ model, text: "corpus:brown:heldout", maxTokens: 301, spread: true, seqLen: 24, batchSize: 3 });
let single = "";
const shards: string[] = [];

beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 32, bos: 256 }));
  single = path.join(tmp, "single");
  await extract({ ...base(), out: single });
  for (let i = 0; i < 3; i++) {
    shards.push(path.join(tmp, `shard-${i}`));
    await extract({ ...base(), out: shards[i], shard: `${i}/3` });
  }
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every stored byte of a dataset read through the reader: ids, tags, samples, each state's rows. */
function contents(ds: HiddenStateDataset): { ids: number[]; tags?: string[]; samples: unknown; states: Buffer[] } {
  return {
    ids: [...ds.tokenIds()!],
    tags: ds.tags(),
    samples: ds.samples,
    states: Array.from({ length: ds.nStates }, (_, b) => Buffer.from(ds.state(b).buffer.slice(0)) as Buffer),
  };
}

describe("shard ranges", () => {
  it("tile 0..S for every split, contiguous, sizes within one", () => {
    for (let total = 1; total <= 40; total++) {
      for (let count = 1; count <= total; count++) {
        let at = 0;
        const sizes: number[] = [];
        for (let i = 0; i < count; i++) {
          const [start, end] = shardRange(total, i, count);
          expect(start).toBe(at);
          sizes.push(end - start);
          at = end;
        }
        expect(at).toBe(total);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it("parses I/N and refuses anything else, naming the option", () => {
    expect(parseShard("0/3")).toEqual({ index: 0, count: 3 });
    expect(parseShard(" 2 / 3 ")).toEqual({ index: 2, count: 3 });
    for (const bad of ["3/3", "1", "-1/3", "1/0", "a/b", "1/3/4", ""]) expect(() => parseShard(bad)).toThrow(/'shard' must be I\/N/);
  });
});

describe("extract --shard", () => {
  it("the shards read as one list equal the unsharded dataset byte for byte", () => {
    const whole = HiddenStateDataset.open(single);
    expect(whole.samples.length).toBeGreaterThanOrEqual(13); // enough sequences for three shards of several batches
    const joined = HiddenStateDataset.open([shards[2], shards[0], shards[1]]); // any order
    expect(joined.dirs).toEqual(shards);
    expect(joined.shardCount).toBe(3);
    expect(joined.nTokens).toBe(whole.nTokens);
    expect(joined.complete).toBe(true);
    expect(joined.hasTags).toBe(true);
    const a = contents(whole);
    const b = contents(joined);
    expect(b.ids).toEqual(a.ids);
    expect(b.tags).toEqual(a.tags);
    expect(b.samples).toEqual(a.samples);
    for (let s = 0; s < a.states.length; s++) expect(b.states[s].equals(a.states[s]), `state ${s}`).toBe(true);
    // Rows read across a boundary between two shard datasets.
    const cut = HiddenStateDataset.open(shards[0]).nTokens;
    expect(Buffer.from(joined.rows(1, cut - 2, cut + 3).buffer).equals(Buffer.from(whole.rows(1, cut - 2, cut + 3).buffer))).toBe(true);
  });

  it("each shard is a complete dataset that records its share; the shares tile the run", () => {
    const total = readManifest(single);
    let first = 0;
    let tokens = 0;
    for (let i = 0; i < 3; i++) {
      const m = readManifest(shards[i]);
      expect(m.complete).toBe(true);
      const [start, end] = shardRange(total.n_samples, i, 3);
      // The run numbers documents by first appearance; each shard lists its documents' numbers.
      const numberOf = new Map<string, number>();
      for (const smp of total.samples) if (!numberOf.has(smp.source!)) numberOf.set(smp.source!, numberOf.size);
      const documents = [...new Set(m.samples.map((smp) => numberOf.get(smp.source!)!))];
      expect(m.shard).toEqual({
        index: i, count: 3, first_sample: start, n_samples: end - start, n_tokens: m.n_tokens,
        total_samples: total.n_samples, total_tokens: total.n_tokens, documents,
      });
      if (i > 0) expect(documents[0]).toBeGreaterThan(0); // --spread: later shards start past document 0's first sequence
      expect(m.shard!.first_sample).toBe(first);
      expect(m.n_samples).toBe(end - start);
      expect(m.extra).toEqual(total.extra); // the same settings; the share is manifest.shard
      first += m.n_samples;
      tokens += m.n_tokens;
    }
    expect(first).toBe(total.n_samples);
    expect(tokens).toBe(total.n_tokens);
  });

  it("an interrupted shard resumes to the same bytes; another shard or none is refused, naming it", async () => {
    const out = path.join(tmp, "resumed-1");
    const first = await extract({ ...base(), out, shard: "1/3", maxBatches: 1 });
    expect(first.complete).toBe(false);
    expect(() => HiddenStateDataset.open([shards[0], out, shards[2]])).toThrow(
      `${out} (shard 1/3) is incomplete: 3 of its ${readManifest(shards[1]).n_samples} sequences written; rerun its task (the same command) to finish it`,
    );
    await expect(extract({ ...base(), out, shard: "2/3" })).rejects.toThrow(`'shard' 1/3 (this run: 2/3)`);
    await expect(extract({ ...base(), out })).rejects.toThrow(`'shard' 1/3 (this run: (none))`);
    await expect(extract({ ...base(), out: single, shard: "1/3" })).rejects.toThrow(`'shard' (none) (this run: 1/3)`);
    const done = await extract({ ...base(), out, shard: "1/3" });
    expect(done.complete).toBe(true);
    expect(done.shard).toEqual(readManifest(shards[1]).shard);
    const again = contents(HiddenStateDataset.open(out));
    const ref = contents(HiddenStateDataset.open(shards[1]));
    expect(again.ids).toEqual(ref.ids);
    for (let s = 0; s < ref.states.length; s++) expect(again.states[s].equals(ref.states[s])).toBe(true);
  });

  it("refuses more shards than sequences", async () => {
    await expect(extract({ ...base(), maxTokens: 60, out: path.join(tmp, "too-many"), shard: "0/4" })).rejects.toThrow(
      "'shard' 0/4: the text gives only 3 sequences, fewer than 4 shards; use at most 3 shards",
    );
    expect(fs.existsSync(path.join(tmp, "too-many"))).toBe(false);
  });
});

describe("a list of shard datasets", () => {
  it("linearity inspect over the shards prints the unsharded dataset's numbers exactly", async () => {
    const whole = await runInProcess(["inspect", single, "--json", "--rows", "50", "--no-intrinsic-dim"]);
    const joined = await runInProcess(["inspect", shards[1], shards[0], shards[2], "--json", "--rows", "50", "--no-intrinsic-dim"]);
    expect(joined.error).toBeUndefined();
    const a = JSON.parse(whole.stdout);
    const b = JSON.parse(joined.stdout);
    expect(b.shard_datasets).toEqual(shards);
    expect(b.n_tokens).toBe(a.n_tokens);
    expect(b.states).toEqual(a.states); // the same rows in the same order: the same float64 sums
    const text = await runInProcess(["inspect", ...shards, "--no-linearity", "--no-intrinsic-dim", "--no-anisotropy"]);
    expect(text.stdout).toContain(`dataset   : ${shards.join(" + ")} (the 3 shard datasets of one extraction, as one)`);
    const one = await runInProcess(["inspect", shards[1], "--no-linearity", "--no-intrinsic-dim", "--no-anisotropy"]);
    expect(one.stdout).toMatch(/shard +: 1\/3: sequences \d+\.\.\d+ of the extraction's \d+/);
    const gap = await runInProcess(["inspect", shards[0], shards[2]]);
    expect(gap.error).toContain("shard 1/3 missing");
  });

  it("refuses duplicates, gaps and non-shard datasets, naming them", () => {
    expect(() => HiddenStateDataset.open([shards[0], shards[1], shards[1], shards[2]])).toThrow(`shard 1/3 given twice: ${shards[1]} and ${shards[1]}`);
    expect(() => HiddenStateDataset.open([shards[2], shards[0]])).toThrow(
      `shard 1/3 missing (given: 0/3 ${shards[0]}, 2/3 ${shards[2]}); give every shard of the extraction`,
    );
    expect(() => HiddenStateDataset.open([shards[1]]).samples.length).not.toThrow(); // one shard alone is a dataset
    expect(() => HiddenStateDataset.open([shards[1], shards[2]])).toThrow("shard 0/3 missing (given: 1/3");
    expect(() => HiddenStateDataset.open([shards[0], single])).toThrow(`${single}: not a shard dataset`);
    expect(() => HiddenStateDataset.open([shards[0], path.join(tmp, "nothing")])).toThrow(`${path.join(tmp, "nothing")}: no such folder (a shard dataset not written yet? rerun its task)`);
    fs.mkdirSync(path.join(tmp, "empty"));
    expect(() => HiddenStateDataset.open([shards[0], path.join(tmp, "empty")])).toThrow("empty: not a shard dataset (no manifest.json)");
  });

  it("refuses a shard whose document numbers disagree with the joined order", () => {
    const tampered = path.join(tmp, "tampered-1");
    fs.cpSync(shards[1], tampered, { recursive: true });
    const file = path.join(tampered, "manifest.json");
    const m = JSON.parse(fs.readFileSync(file, "utf8"));
    m.shard.documents = [...m.shard.documents].reverse();
    fs.writeFileSync(file, JSON.stringify(m));
    expect(() => HiddenStateDataset.open([shards[0], tampered, shards[2]])).toThrow(`${tampered}: shard.documents [`);
  });

  it("refuses shards of other settings and of another split, naming the setting", async () => {
    const other = path.join(tmp, "other-dtype-1");
    await extract({ ...base(), dtype: "float16", out: other, shard: "1/3" });
    expect(() => HiddenStateDataset.open([shards[0], other, shards[2]])).toThrow(
      `${other} is not a shard of the same extraction as ${shards[0]}: dtype float16 (${shards[0]}: float32), extra.extraction.dtype float16 (${shards[0]}: float32)`,
    );
    const split = path.join(tmp, "split-2-of-2");
    await extract({ ...base(), out: split, shard: "1/2" });
    expect(() => HiddenStateDataset.open([shards[0], split])).toThrow(`shard.count 2 (${shards[0]}: 3)`);
  });
});
