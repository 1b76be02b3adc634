import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { buildProgram } from "../../lib/cli/main";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { decodeF16, encodeF16Js } from "../../lib/io/f16";
import { extract } from "../../lib/extract/extract";
import { cutSequences } from "../../lib/extract/sequences";
import { loadTextSource } from "../../lib/extract/source";
import { loadModel } from "../../lib/models/load";
import { loadTokenizer } from "../../lib/tokenizer";
import { gpt2TokenizerJson } from "../tokenizer/fixtures";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";
import { snapshot } from "./snapshot";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "extract-"));
const TEXT = "The cat sat on the mat. Naïve café — 漢字 😀!\nA second line, with more words in it.\n".repeat(3);
let byteModel = ""; // Llama-family, byte-level, d_vocab 257, BOS 256 (like the project's own model)
let gpt2Model = ""; // GPT-2 family with a tokenizer.json
let textFile = "";
let n = 0;
const out = (): string => path.join(tmp, `ds${n++}`);

beforeAll(async () => {
  await initBackend({ quiet: true });
  byteModel = writeTinyCheckpoint(
    path.join(tmp, "byte-llama"),
    tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }),
  );
  const tok = gpt2TokenizerJson();
  gpt2Model = writeTinyCheckpoint(
    path.join(tmp, "tiny-gpt2"),
    tinyHfConfig("gpt2", { n_layers: 3, d_model: 16, n_heads: 2, d_vocab: tok.eos + 1, n_ctx: 32, bos: tok.eos }),
    2,
    { "tokenizer.json": JSON.stringify(tok.json) },
  );
  textFile = path.join(tmp, "text.txt");
  fs.writeFileSync(textFile, TEXT);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Run the model directly on one sequence: n_layers+1 arrays [pos, d_model]. */
function directStates(modelDir: string, ids: Int32Array): Float32Array[] {
  const model = loadModel(modelDir);
  try {
    return tf.tidy(() => model.forward(tf.tensor2d(ids, [1, ids.length], "int32"), { logits: false }).hiddenStates.map((h) => h.dataSync() as Float32Array));
  } finally {
    model.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("extract (byte-level Llama)", () => {
  it("writes n_layers+1 states, BOS-led sequences, and states equal to a direct forward pass", async () => {
    const dir = out();
    const res = await extract({ model: byteModel, text: textFile, out: dir, seqLen: 24, batchSize: 3 });
    const bytes = Buffer.byteLength(TEXT);
    const nSeq = Math.ceil(bytes / 23);
    expect(res).toMatchObject({ complete: true, samples: nSeq, tokens: bytes + nSeq, samplesThisRun: nSeq });

    const ds = HiddenStateDataset.open(dir);
    expect(ds.nStates).toBe(3);
    expect(ds.nLayers).toBe(2);
    expect(ds.dModel).toBe(16);
    expect(ds.nTokens).toBe(bytes + nSeq);
    const ids = ds.tokenIds()!;
    // The token ids, BOS removed, are exactly the UTF-8 bytes of the text, in order.
    const body: number[] = [];
    ds.samples.forEach((s, i) => {
      expect(ids[s.offset]).toBe(256);
      expect(s.nTokens).toBe(i < nSeq - 1 ? 24 : bytes - 23 * (nSeq - 1) + 1);
      expect(s.source).toBe("text.txt");
      body.push(...ids.slice(s.offset + 1, s.offset + s.nTokens));
    });
    expect(Buffer.from(body).toString("utf8")).toBe(TEXT);
    expect(ds.samples[0].text).toBe(TEXT.slice(0, ds.samples[0].text!.length));

    // Hidden states: compare each sample with the model run on its ids alone.
    for (const s of [ds.samples[0], ds.samples[nSeq - 1]]) {
      const want = directStates(byteModel, ids.slice(s.offset, s.offset + s.nTokens));
      for (let b = 0; b < ds.nStates; b++) {
        expect(maxAbsDiff(ds.rows(b, s.offset, s.offset + s.nTokens), want[b])).toBeLessThan(1e-5);
      }
    }
  });

  it("continues after an interruption and ends byte-identical to an uninterrupted run", async () => {
    const whole = out();
    await extract({ model: byteModel, text: textFile, out: whole, seqLen: 16, batchSize: 2 });

    const parts = out();
    const first = await extract({ model: byteModel, text: textFile, out: parts, seqLen: 16, batchSize: 2, maxBatches: 2 });
    expect(first).toMatchObject({ complete: false, samples: 4, samplesThisRun: 4 });
    const controller = new AbortController();
    const second = await extract({
      model: byteModel, text: textFile, out: parts, seqLen: 16, batchSize: 2, signal: controller.signal,
      onProgress: (p) => p.samples >= 10 && controller.abort(), // Ctrl-C during the run
    });
    // The shard reaching 10 samples is reported once it is on disk; the next batch's forward ran
    // while it was written, and a batch already running is finished and written after Ctrl-C.
    expect(second.complete).toBe(false);
    expect([10, 12]).toContain(second.samples);
    expect(second.samplesThisRun).toBe(second.samples - 4);
    const third = await extract({ model: byteModel, text: textFile, out: parts, seqLen: 16, batchSize: 2 });
    expect(third.complete).toBe(true);
    expect(third.samplesThisRun).toBe(third.samples - second.samples);
    expect(snapshot(parts)).toEqual(snapshot(whole));

    // Running again once complete changes nothing.
    const again = await extract({ model: byteModel, text: textFile, out: parts, seqLen: 16, batchSize: 2 });
    expect(again).toMatchObject({ complete: true, samplesThisRun: 0, samples: third.samples });
    expect(snapshot(parts)).toEqual(snapshot(whole));
  });

  it("does not grow tfjs memory from batch to batch", async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await extract({
      model: byteModel, text: textFile, out: out(), seqLen: 8, batchSize: 2,
      onProgress: () => counts.push(tf.memory().numTensors),
    });
    expect(counts.length).toBeGreaterThan(10);
    expect(new Set(counts).size).toBe(1); // same count after every batch
    expect(tf.memory().numTensors).toBe(before); // model weights released at the end
  });

  it("tags Brown Corpus tokens with their words' part of speech", async () => {
    const dir = out();
    await extract({ model: byteModel, text: "corpus:brown:heldout", out: dir, seqLen: 64, maxTokens: 400, batchSize: 4 });
    const ds = HiddenStateDataset.open(dir);
    expect(ds.nTokens).toBe(400);
    // Reference: the same sequences, cut and tagged independently of the writer and reader.
    const seqs = [...cutSequences(loadTextSource("corpus:brown:heldout"), loadTokenizer(byteModel, { bos_token_id: 256, d_vocab: 257 }), { seqLen: 64, maxTokens: 400 })];
    expect(ds.tags()).toEqual(seqs.flatMap((s) => s.tags!));
    expect(ds.samples.map((s) => s.source)).toEqual(seqs.map((s) => s.source));
    expect(ds.samples[0].source).toBe("ca10");
    expect(ds.tags()![0]).toBe("bos");
    // ca10 starts "Vincent G. Ierulli has been appointed": 7 bytes of a proper noun, then a space.
    expect(ds.tags()!.slice(1, 10)).toEqual([...Array(7).fill("np"), "space", "np"]);
  });

  it("stores float16 states within float16 rounding of float32", async () => {
    const a = out();
    const b = out();
    await extract({ model: byteModel, text: textFile, out: a, seqLen: 32, maxTokens: 64 });
    await extract({ model: byteModel, text: textFile, out: b, seqLen: 32, maxTokens: 64, dtype: "float16" });
    const f32 = HiddenStateDataset.open(a);
    const f16 = HiddenStateDataset.open(b);
    expect(f16.dtype).toBe("float16");
    for (let s = 0; s < f32.nStates; s++) {
      const x = f32.state(s);
      const y = f16.state(s);
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -11 + 2 ** -24);
    }
  });
  it("float16 states, encoded as the forward makes them over many batches with shards written meanwhile, are float32's rounded to float16, bit for bit", async () => {
    const a = out();
    const b = out();
    await extract({ model: byteModel, text: textFile, out: a, seqLen: 16, maxTokens: 160, batchSize: 2 });
    await extract({ model: byteModel, text: textFile, out: b, seqLen: 16, maxTokens: 160, batchSize: 2, dtype: "float16" });
    const f32 = HiddenStateDataset.open(a);
    const f16 = HiddenStateDataset.open(b);
    expect(f16.samples.length).toBeGreaterThanOrEqual(10);
    for (let s = 0; s < f32.nStates; s++) {
      const x = f32.state(s);
      const bits = new Uint16Array(x.length);
      expect(encodeF16Js(x, bits)).toBe(-1);
      const want = decodeF16(bits);
      const got = f16.state(s);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
      expect(worst, `state ${s}`).toBe(0);
    }
  });
});

describe("extract (GPT-2 with tokenizer.json)", () => {
  it("uses the tokenizer.json ids, with the model's BOS, and matches a direct forward pass", async () => {
    const dir = out();
    const tok = gpt2TokenizerJson();
    await extract({ model: gpt2Model, text: textFile, out: dir, seqLen: 32, batchSize: 4 });
    const ds = HiddenStateDataset.open(dir);
    const tokenizer = loadTokenizer(gpt2Model, { bos_token_id: tok.eos });
    const encoded = tokenizer.encode(TEXT).ids;
    const ids = ds.tokenIds()!;
    const body: number[] = [];
    for (const s of ds.samples) {
      expect(ids[s.offset]).toBe(tok.eos);
      body.push(...ids.slice(s.offset + 1, s.offset + s.nTokens));
    }
    expect(body).toEqual(encoded);
    expect(ds.nStates).toBe(4);
    const s = ds.samples[1];
    const want = directStates(gpt2Model, ids.slice(s.offset, s.offset + s.nTokens));
    for (let b = 0; b < ds.nStates; b++) {
      expect(maxAbsDiff(ds.rows(b, s.offset, s.offset + s.nTokens), want[b])).toBeLessThan(1e-5);
    }
  });
});

describe("extract from a hub id", () => {
  it("downloads the checkpoint from HF_ENDPOINT into LINEARITY_CACHE, then extracts", async () => {
    // Serve the tiny GPT-2 folder with the hub's URL layout on 127.0.0.1.
    const http = await import("node:http");
    const server = http.createServer((req, res) => {
      const m = /^\/org\/tiny\/resolve\/main\/([\w.-]+)$/.exec(req.url ?? "");
      const file = m && path.join(gpt2Model, m[1]);
      if (!file || !fs.existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": fs.statSync(file).size }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const env = { HF_ENDPOINT: process.env.HF_ENDPOINT, LINEARITY_CACHE: process.env.LINEARITY_CACHE };
    process.env.HF_ENDPOINT = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    process.env.LINEARITY_CACHE = path.join(tmp, "hub-cache");
    try {
      const dir = out();
      const res = await extract({ model: "org/tiny", text: textFile, out: dir, seqLen: 32, maxTokens: 40 });
      expect(res).toMatchObject({ complete: true, tokens: 40 });
      const ds = HiddenStateDataset.open(dir);
      expect(ds.model).toMatchObject({ name: "org/tiny", family: "gpt2", n_layers: 3, source: "org/tiny" });
      expect(fs.readFileSync(path.join(tmp, "hub-cache", "org", "tiny", "main", "model.safetensors"))).toEqual(
        fs.readFileSync(path.join(gpt2Model, "model.safetensors")),
      );
    } finally {
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("extract errors", () => {
  it("gives one-line errors for bad arguments", async () => {
    const base = { model: byteModel, text: textFile, out: path.join(tmp, "never") };
    await expect(extract({ ...base, model: path.join(tmp, "missing", "model") })).rejects.toThrow(/^model: folder .*missing\/model does not exist/);
    fs.writeFileSync(path.join(tmp, "empty.txt"), "");
    await expect(extract({ ...base, text: path.join(tmp, "empty.txt") })).rejects.toThrow(/empty\.txt is empty; there is nothing to extract/);
    await expect(extract({ ...base, dtype: "float64" as never })).rejects.toThrow("extract: 'dtype' must be float16 or float32, got 'float64'");
    // One length policy for every command (openModel's sequenceLength): refused past learned positions (GPT-2, OPT) ...
    await expect(extract({ ...base, model: gpt2Model, seqLen: 33 })).rejects.toThrow("extract: 'seqLen' 33 exceeds the model's n_ctx 32 (its learned positions)");
    await expect(extract({ ...base, batchSize: 0 })).rejects.toThrow("extract: 'batchSize' must be a positive integer, got 0");
    await expect(extract({ ...base, maxTokens: 1.5 })).rejects.toThrow("extract: 'maxTokens' must be a positive integer, got 1.5");
    expect(fs.existsSync(base.out)).toBe(false);
  });

  it("runs a rotary model past its n_ctx, as HF does (the same length policy as lens and eval)", async () => {
    const r = await extract({ model: byteModel, text: textFile, out: out(), seqLen: 65, maxTokens: 65 });
    expect(r.tokens).toBe(65);
  });

  it("refuses to continue a dataset written with other settings", async () => {
    const dir = out();
    await extract({ model: byteModel, text: textFile, out: dir, seqLen: 16, maxBatches: 1 });
    await expect(extract({ model: byteModel, text: textFile, out: dir, seqLen: 20 })).rejects.toThrow(
      /was extracted with other settings: 'seqLen' 16 \(this run: 20\); rerun with the same settings/,
    );
    await expect(extract({ model: byteModel, text: textFile, out: dir, seqLen: 16, dtype: "float16" })).rejects.toThrow(
      /'dtype' float32 \(this run: float16\)/,
    );
    await expect(extract({ model: byteModel, text: textFile, out: dir, seqLen: 16, spread: true })).rejects.toThrow(
      /'spread' false \(this run: true\)/,
    );
  });

  it("with spread, writes Brown held-out sequences round-robin over the documents, and resumes", async () => {
    const dir = out();
    const opts = { model: byteModel, text: "corpus:brown:heldout", out: dir, seqLen: 32, maxTokens: 32 * 60, batchSize: 8, spread: true };
    await extract({ ...opts, maxBatches: 3 });
    const res = await extract(opts);
    expect(res.complete).toBe(true);
    const ds = HiddenStateDataset.open(dir);
    // 60 sequences: the first run of each of the 50 held-out documents, then the second of the first 10.
    const heldout = loadTextSource("corpus:brown:heldout").map((d) => d.id);
    expect(ds.samples.map((s) => s.source)).toEqual([...heldout, ...heldout.slice(0, 10)]);
  });

  it("refuses a text file edited between runs", async () => {
    const file = path.join(tmp, "edited.txt");
    fs.writeFileSync(file, "abcdefghijklmnopqrstuvwxyz".repeat(4));
    const dir = out();
    await extract({ model: byteModel, text: file, out: dir, seqLen: 8, batchSize: 2, maxBatches: 2 });
    fs.writeFileSync(file, "abc");
    await expect(extract({ model: byteModel, text: file, out: dir, seqLen: 8, batchSize: 2 })).rejects.toThrow(
      /sequence 0 differs from the one stored \(8 tokens stored, 4 now\); the text or tokenizer changed/,
    );
    fs.writeFileSync(file, "abcdefghijklmn"); // the first two sequences, unchanged, then nothing
    await expect(extract({ model: byteModel, text: file, out: dir, seqLen: 8, batchSize: 2 })).rejects.toThrow(
      /holds 4 sequences of 32 tokens, but this text and tokenizer give 16 tokens for them/,
    );
  });
});

describe("linearity extract", () => {
  async function run(args: string[]): Promise<string> {
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      await (await buildProgram()).parseAsync(["node", "linearity", "extract", ...args]);
    } finally {
      process.stdout.write = write;
    }
    return printed.join("");
  }

  it("extracts and prints a summary", async () => {
    const dir = out();
    const printed = await run(["--model", byteModel, "--text", textFile, "--out", dir, "--seq-len", "32", "--max-tokens", "100", "--dtype", "float16", "--batch-size", "2"]);
    expect(printed).toMatch(new RegExp(`^${dir}: 4 sequences, 100 tokens \\(100 this run, \\d+ tokens/s\\); complete\\n$`));
    expect(HiddenStateDataset.open(dir).dtype).toBe("float16");
  });

  it("rejects a bad --dtype and a bad --seq-len before doing any work", async () => {
    await expect(run(["--model", byteModel, "--text", textFile, "--out", out(), "--dtype", "int8"])).rejects.toThrow("--dtype must be float16 or float32, got 'int8'");
    await expect(run(["--model", byteModel, "--text", textFile, "--out", out(), "--seq-len", "ten"])).rejects.toThrow("--seq-len must be a positive integer, got 'ten'");
  });
});
