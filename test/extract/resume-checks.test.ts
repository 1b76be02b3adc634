/**
 * What a resumed extraction checks before appending: the hub revision, the weights themselves
 * (a fingerprint), and every committed sequence's token ids (so a same-length edit of the text
 * is caught). Each case first writes part of a dataset, changes one thing, then resumes.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { extract } from "../../lib/extract/extract";
import { readSafetensors, writeSafetensors, type SafetensorsInput } from "../../lib/io/safetensors";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "resume-checks-"));
let model = "";
let text = "";
let n = 0;
const out = (): string => path.join(tmp, `ds${n++}`);
const settings = { seqLen: 8, batchSize: 2 };

beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 16, bos: 256 }));
  text = path.join(tmp, "t.txt");
  fs.writeFileSync(text, "Resume only what belongs together. ".repeat(4));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Copy a model folder with every weight scaled by `factor` (same names, shapes and sizes). */
function scaledCopy(src: string, dest: string, factor: number): void {
  fs.cpSync(src, dest, { recursive: true });
  const st = readSafetensors(path.join(src, "model.safetensors"));
  const tensors: Record<string, SafetensorsInput> = {};
  for (const name of st.names) {
    tensors[name] = { dtype: "F32", shape: st.tensors[name].shape, data: st.tensors[name].read().map((v) => v * factor) };
  }
  writeSafetensors(path.join(dest, "model.safetensors"), tensors, st.metadata);
}

describe("resuming an extraction refuses to mix", () => {
  it("refuses other weights under the same --model path (same shapes, same file size)", async () => {
    const modelDir = path.join(tmp, "swapped");
    scaledCopy(model, modelDir, 1);
    const dir = out();
    await extract({ model: modelDir, text, out: dir, ...settings, maxBatches: 1 });
    const before = fs.statSync(path.join(modelDir, "model.safetensors")).size;
    fs.rmSync(modelDir, { recursive: true });
    scaledCopy(model, modelDir, 1.5); // e.g. a newer checkpoint of the same run
    expect(fs.statSync(path.join(modelDir, "model.safetensors")).size).toBe(before);
    await expect(extract({ model: modelDir, text, out: dir, ...settings })).rejects.toThrow(
      /was extracted with other settings: weights [0-9a-f]{16} \(this run: [0-9a-f]{16}\); the model's config\.json or weights changed/,
    );
    // The same weights again: the fingerprint agrees and the dataset completes.
    fs.rmSync(modelDir, { recursive: true });
    scaledCopy(model, modelDir, 1);
    expect((await extract({ model: modelDir, text, out: dir, ...settings })).complete).toBe(true);
  });

  it("refuses a same-length edit of the text file, naming the sequence", async () => {
    const file = path.join(tmp, "edited.txt");
    const original = "abcdefghijklmnopqrstuvwxyz".repeat(4);
    fs.writeFileSync(file, original);
    const dir = out();
    await extract({ model, text: file, out: dir, ...settings, maxBatches: 2 });
    fs.writeFileSync(file, original.replace("k", "K")); // byte 10: in sequence 1 (7 text bytes each)
    await expect(extract({ model, text: file, out: dir, ...settings })).rejects.toThrow(
      new RegExp(`${dir}: sequence 1 differs from the one stored \\(token 4: 107 stored, 75 now\\); the text or tokenizer changed since the dataset was started; use a new --out`),
    );
  });

  it("refuses another hub revision", async () => {
    // Serve the same tiny checkpoint as revisions r1 and r2 on 127.0.0.1.
    const server = http.createServer((req, res) => {
      const m = /^\/org\/tiny\/resolve\/(r1|r2)\/([\w.-]+)$/.exec(req.url ?? "");
      const file = m && path.join(model, m[2]);
      if (!file || !fs.existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": fs.statSync(file).size }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const env = { HF_ENDPOINT: process.env.HF_ENDPOINT, LINEARITY_CACHE: process.env.LINEARITY_CACHE };
    process.env.HF_ENDPOINT = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    process.env.LINEARITY_CACHE = path.join(tmp, "hub-cache");
    try {
      const dir = out();
      await extract({ model: "org/tiny", revision: "r1", text, out: dir, ...settings, maxBatches: 1 });
      await expect(extract({ model: "org/tiny", revision: "r2", text, out: dir, ...settings })).rejects.toThrow(
        /was extracted with other settings: 'revision' r1 \(this run: r2\)/,
      );
      expect((await extract({ model: "org/tiny", revision: "r1", text, out: dir, ...settings })).complete).toBe(true);
    } finally {
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
