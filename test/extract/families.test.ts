/**
 * Extraction end to end for a GPT-NeoX (Pythia-layout) checkpoint fetched at a training-step
 * revision, with a tokenizer.json in Pythia's layout: the path the Pythia training-dynamics
 * recipe in docs/models.md takes, on a tiny random model served from 127.0.0.1.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { extract } from "../../lib/extract/extract";
import { loadModel } from "../../lib/models/load";
import { loadTokenizer } from "../../lib/tokenizer";
import { neoxTokenizerJson } from "../tokenizer/fixtures";
import { writeTinyCheckpoint } from "./tiny";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "extract-families-"));
const TEXT = "the cat sat on the mat.  the cat      sat on café\nthe end of the text, the cat.\n".repeat(2);
const REVISIONS = ["step1000", "step2000"];
let textFile = "";
/** revision -> local folder served under /org/pythia/resolve/<revision>/ */
const folders = new Map<string, string>();

beforeAll(async () => {
  await initBackend({ quiet: true });
  const tok = neoxTokenizerJson();
  // Pythia's config.json keys, shrunk; vocab_size padded past the tokenizer's ids as Pythia's is.
  const config = {
    architectures: ["GPTNeoXForCausalLM"], model_type: "gpt_neox", hidden_size: 16, intermediate_size: 64,
    num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 64, vocab_size: tok.vocab.size + 5,
    hidden_act: "gelu", layer_norm_eps: 1e-5, rotary_pct: 0.25, rotary_emb_base: 10000, use_parallel_residual: true,
    tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 0,
  };
  REVISIONS.forEach((rev, i) => {
    // Different weights per revision (seed), same config and tokenizer, as Pythia's branches are.
    folders.set(rev, writeTinyCheckpoint(path.join(tmp, `pythia-${rev}`), config, 10 + i, { "tokenizer.json": JSON.stringify(tok.json) }));
  });
  textFile = path.join(tmp, "text.txt");
  fs.writeFileSync(textFile, TEXT);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("extract a Pythia-layout model at several hub revisions", () => {
  it("gives the same token ids at every revision, BOS 0 first, and states equal to a direct forward", async () => {
    const server = http.createServer((req, res) => {
      const m = /^\/org\/pythia\/resolve\/([\w%.-]+)\/([\w.-]+)$/.exec(req.url ?? "");
      const dir = m ? folders.get(decodeURIComponent(m[1])) : undefined;
      const file = dir && path.join(dir, m![2]);
      if (!file || !fs.existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { "content-length": fs.statSync(file).size }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const env = { HF_ENDPOINT: process.env.HF_ENDPOINT, LINEARITY_CACHE: process.env.LINEARITY_CACHE };
    process.env.HF_ENDPOINT = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    process.env.LINEARITY_CACHE = path.join(tmp, "hub-cache");
    try {
      const idsPerRevision: Int32Array[] = [];
      let firstSampleTokens = 0;
      const lastStates: Float32Array[] = [];
      for (const rev of REVISIONS) {
        const out = path.join(tmp, `ds-${rev}`);
        const res = await extract({ model: "org/pythia", revision: rev, text: textFile, out, seqLen: 16, batchSize: 2 });
        expect(res.complete).toBe(true);
        const ds = HiddenStateDataset.open(out);
        expect(ds.model).toMatchObject({ family: "gpt_neox", n_layers: 2, d_model: 16 });
        expect(ds.nStates).toBe(3);
        const ids = ds.tokenIds()!;
        for (const s of ds.samples) expect(ids[s.offset]).toBe(0); // <|endoftext|> as BOS
        idsPerRevision.push(ids);
        firstSampleTokens = ds.samples[0].nTokens;

        // The cached folder of this revision holds that revision's weights.
        const cached = path.join(tmp, "hub-cache", "org", "pythia", rev);
        expect(fs.readFileSync(path.join(cached, "model.safetensors"))).toEqual(fs.readFileSync(path.join(folders.get(rev)!, "model.safetensors")));

        // Stored states equal a direct forward of the same ids through the loaded model.
        const s = ds.samples[1];
        const seq = ids.slice(s.offset, s.offset + s.nTokens);
        const model = loadModel(cached);
        const want = tf.tidy(() => model.forward(tf.tensor2d(seq, [1, seq.length], "int32"), { logits: false }).hiddenStates.map((h) => h.dataSync() as Float32Array));
        model.dispose();
        for (let b = 0; b < ds.nStates; b++) {
          const got = ds.rows(b, s.offset, s.offset + s.nTokens);
          let worst = 0;
          for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[b][i]));
          expect(worst).toBeLessThan(1e-5);
        }
        lastStates.push(ds.rows(2, 0, 4));
      }
      // Same text, same tokenizer: the same ids at both revisions (the body is the tokenizer's encoding).
      expect(Array.from(idsPerRevision[1])).toEqual(Array.from(idsPerRevision[0]));
      const tokenizer = loadTokenizer(folders.get("step1000")!, { bos_token_id: 0 });
      const v = neoxTokenizerJson().vocab;
      // Runs of spaces become the whitespace added tokens (longest first), then BPE on the rest.
      expect(tokenizer.encode("the cat      sat").ids).toEqual(["the", "Ġcat", "    ", "  ", "s", "at"].map((t) => v.get(t)));
      // The first sequence is BOS then the text's first tokens.
      const body = Array.from(idsPerRevision[0].slice(1, firstSampleTokens));
      expect(body).toEqual(tokenizer.encode(TEXT).ids.slice(0, body.length));
      // Different weights: different states.
      expect(Math.max(...lastStates[0].map((v, i) => Math.abs(v - lastStates[1][i])))).toBeGreaterThan(1e-3);
    } finally {
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
