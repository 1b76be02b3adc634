/**
 * `linearity eval`: the loss equals a float64 reference forward's loss on the same ids (every
 * family), the evaluated ids are the text's full-length sequences, and the CLI's last line is
 * the loss.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readNpyInt32 } from "../../lib/io/npy";
import { evaluateModel, evaluationIds, nextTokenLoss, textSourcesOverlap } from "../../lib/interventions/evaluate";
import { loadModel } from "../../lib/models/load";
import { ByteTokenizer } from "../../lib/tokenizer/byte";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";
import { gpt2TokenizerJson } from "../tokenizer/fixtures";
import { tinyCheckpoints } from "../models/helpers";
import { readCheckpoint, type RefCheckpoint, type RefOutput } from "../models/reference/common";
import { gpt2Reference } from "../models/reference/gpt2";
import { llamaReference } from "../models/reference/llama";
import { optReference } from "../models/reference/opt";

let ck: ReturnType<typeof tinyCheckpoints>;
let tmp: string;
let byteModel: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-eval-"));
  byteModel = writeTinyCheckpoint(path.join(tmp, "byte"), tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }));
});
afterAll(() => {
  ck.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Mean -log softmax(logits[p])[ids[p + 1]] over every row and position, in float64. */
function referenceLoss(refs: RefOutput[], rows: number[][]): number {
  let sum = 0, count = 0;
  refs.forEach((ref, r) => {
    for (let p = 0; p + 1 < rows[r].length; p++) {
      const z = ref.logits[p];
      const max = Math.max(...z);
      let lse = 0;
      for (const v of z) lse += Math.exp(v - max);
      sum += max + Math.log(lse) - z[rows[r][p + 1]];
      count++;
    }
  });
  return sum / count;
}

describe("eval loss against a float64 reference forward", () => {
  const REFERENCES: [string, (c: RefCheckpoint, ids: number[]) => RefOutput][] = [
    ["llama-gqa", llamaReference],
    ["llama-tied", llamaReference],
    ["gpt2", gpt2Reference],
    ["opt", optReference],
    ["opt-350m-style", optReference],
  ];
  for (const [variant, reference] of REFERENCES) {
    it(`${variant}: same loss on the same ids within 1e-5 nats/token`, () => {
      const rows = [
        [3, 17, 5, 9, 2, 11, 40, 6],
        [8, 1, 1, 30, 7, 19, 4, 22],
        [0, 12, 12, 12, 5, 33, 2, 9],
      ];
      const model = loadModel(ck.dirs[variant]);
      // Batches of 2 then 1: the chunking must not change the sum.
      const got = nextTokenLoss(model, { ids: Int32Array.from(rows.flat()), sequences: 3, seqLen: 8 }, 2);
      model.dispose();
      const refCk = readCheckpoint(ck.dirs[variant]);
      const want = referenceLoss(rows.map((r) => reference(refCk, r)), rows);
      expect(got.predicted).toBe(3 * 7);
      expect(Math.abs(got.natsPerToken - want)).toBeLessThan(1e-5);
      // Not vacuous: a random model is far from a perfect predictor.
      expect(want).toBeGreaterThan(1);
    });
  }
});

describe("evaluation ids and evaluateModel", () => {
  it("keeps only full-length sequences, BOS first, up to max-tokens", () => {
    const file = path.join(tmp, "two-docs.txt");
    fs.writeFileSync(file, "abcdefghijklmnopqrstuvwxyz"); // 26 bytes: 3 sequences of BOS + 7, then a tail of 5
    const tok = new ByteTokenizer({ bos_token_id: 256, d_vocab: 257 });
    const all = evaluationIds(file, tok, 8, 1000);
    expect(all.sequences).toBe(3);
    expect(Array.from(all.ids.subarray(0, 8))).toEqual([256, ..."abcdefg"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))));
    expect(Array.from(all.ids.subarray(16, 24))).toEqual([256, ..."opqrstu"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))));
    expect(evaluationIds(file, tok, 8, 17).sequences).toBe(2);
    expect(() => evaluationIds(file, tok, 30, 1000)).toThrow("gives no sequence of 30 tokens");
    expect(() => evaluationIds(file, tok, 8, 4)).toThrow("--max-tokens must be an integer >= --seq-len (8)");
  });

  it("evaluateModel on text equals nextTokenLoss on the ids it reports; bits/byte for bytes", async () => {
    const r = await evaluateModel({ model: byteModel, text: "corpus:brown:heldout", maxTokens: 200, seqLen: 32 });
    expect(r.ids.sequences).toBe(6);
    expect(r.tokenizer).toBe("bytes");
    const model = loadModel(byteModel);
    const again = nextTokenLoss(model, r.ids, 5);
    model.dispose();
    expect(Math.abs(again.natsPerToken - r.natsPerToken)).toBeLessThan(1e-6);
    expect(Math.abs(r.bitsPerByte! - r.natsPerToken / Math.LN2)).toBeLessThan(1e-12);
    expect(r.perplexity).toBeUndefined();
  });

  it("a model with a tokenizer.json reports perplexity = exp(loss), no bits/byte", async () => {
    const tok = gpt2TokenizerJson();
    const dir = writeTinyCheckpoint(path.join(tmp, "bpe"), tinyHfConfig("gpt2", { n_layers: 2, d_model: 16, n_heads: 2, d_vocab: tok.eos + 1, n_ctx: 32, bos: tok.eos }), 3,
      { "tokenizer.json": JSON.stringify(tok.json) });
    const file = path.join(tmp, "bpe.txt");
    fs.writeFileSync(file, "the cat sat on the mat and the dog sat on the log. ".repeat(40));
    const r = await evaluateModel({ model: dir, text: file, maxTokens: 64, seqLen: 16 });
    expect(r.tokenizer).toContain("tokenizer.json");
    expect(r.bitsPerByte).toBeUndefined();
    expect(Math.abs(r.perplexity! - Math.exp(r.natsPerToken))).toBeLessThan(1e-9 * r.perplexity!);
    expect(r.ids.sequences).toBe(4);
  });

  it("text overlap rule", () => {
    expect(textSourcesOverlap("corpus:brown:train", "corpus:brown:heldout")).toBe(false);
    expect(textSourcesOverlap("corpus:brown", "corpus:brown:heldout")).toBe(true);
    expect(textSourcesOverlap("corpus:brown:train", "corpus:brown:train")).toBe(true);
    expect(textSourcesOverlap("a.txt", "corpus:brown")).toBe(false);
    expect(textSourcesOverlap("a.txt", "./a.txt")).toBe(true);
    expect(textSourcesOverlap("a.txt", "b.txt")).toBe(false);
  });

  it("CLI: table, ids file, last line is the loss", () => {
    const idsFile = path.join(tmp, "ids.npy");
    const out = execFileSync(process.execPath, ["--import", "tsx", "test/cli/run-cli.ts", "eval", "--model", byteModel,
      "--max-tokens", "100", "--seq-len", "32", "--ids-out", idsFile], { encoding: "utf8", env: { ...process.env, LINEARITY_QUIET: "1" } });
    const lines = out.trim().split("\n");
    expect(lines.at(-2)).toBe("loss (nats/token):");
    expect(out).toContain("3 sequences x 32 tokens, 93 predicted tokens");
    const ids = readNpyInt32(idsFile);
    expect(ids.shape).toEqual([3, 32]);
    expect(ids.data[0]).toBe(256);
    const model = loadModel(byteModel);
    const want = nextTokenLoss(model, { ids: ids.data, sequences: 3, seqLen: 32 });
    model.dispose();
    expect(Math.abs(Number(lines.at(-1)) - want.natsPerToken)).toBeLessThan(1e-6);
    expect(Number(out.match(/bits\/byte: ([\d.]+)/)![1])).toBeCloseTo(want.natsPerToken / Math.LN2, 3);
  });
});
