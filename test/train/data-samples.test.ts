/**
 * The shipped data-samples/ are reproducible: load the shipped model, re-run it on the first
 * sequences of held-out Brown text (cut exactly as `linearity extract` cuts them) and compare
 * with the shipped hidden states, token ids and tags.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset";
import { cutSequences, loadTextSource } from "../../lib/extract";
import { loadModel } from "../../lib/models/load";
import { loadTokenizer } from "../../lib/tokenizer";
import { f16BitsToF32, f32ToF16Bits } from "../../lib/io/f16";

const ROOT = path.join(__dirname, "..", "..", "data-samples");
const MODEL = path.join(ROOT, "model");
const STATES = path.join(ROOT, "hidden-states");

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Half of float16's spacing at |x| (the rounding error of storing x as float16). */
function halfUlp16(x: number): number {
  const bits = f32ToF16Bits(x) & 0x7fff;
  return Math.abs(f16BitsToF32(bits + 1) - f16BitsToF32(bits)) / 2;
}

describe("data-samples", () => {
  it("ships a byte-level Llama model and the hidden states it gives on held-out Brown text", () => {
    const ds = HiddenStateDataset.open(STATES);
    const config = JSON.parse(fs.readFileSync(path.join(MODEL, "config.json"), "utf8"));
    expect(config).toMatchObject({ model_type: "llama", vocab_size: 257, bos_token_id: 256 });
    expect(ds.nStates).toBe(config.num_hidden_layers + 1);
    expect(ds.dModel).toBe(config.hidden_size);
    expect(ds.dtype).toBe("float16");

    const model = loadModel(MODEL);
    const tokenizer = loadTokenizer(MODEL, model.config);
    const extraction = ds.manifest?.extra?.extraction as { seq_len: number; max_tokens: number; spread?: boolean } | undefined;
    expect(extraction?.seq_len).toBeGreaterThan(1);
    const docs = loadTextSource("corpus:brown:heldout");
    const sequences = cutSequences(docs, tokenizer, {
      seqLen: extraction!.seq_len,
      maxTokens: extraction!.max_tokens,
      spread: extraction!.spread,
    });
    const shippedIds = ds.tokenIds()!;
    const shippedTags = ds.tags()!;

    // The first three sequences (a few hundred tokens), every state.
    let checked = 0;
    for (let i = 0; i < 3; i++) {
      const seq = sequences.next().value!;
      const sample = ds.samples[i];
      expect(seq.tokenIds.length).toBe(sample.nTokens);
      expect(Array.from(shippedIds.subarray(sample.offset, sample.offset + sample.nTokens))).toEqual(Array.from(seq.tokenIds));
      expect(shippedTags.slice(sample.offset, sample.offset + sample.nTokens)).toEqual(seq.tags);
      const states = tf.tidy(() =>
        model.forward(tf.tensor2d(seq.tokenIds, [1, seq.tokenIds.length], "int32"), { logits: false }).hiddenStates.map((h) => h.dataSync()),
      );
      for (let s = 0; s < ds.nStates; s++) {
        const shipped = ds.rows(s, sample.offset, sample.offset + sample.nTokens);
        const fresh = states[s];
        expect(fresh.length).toBe(shipped.length);
        let worst = 0;
        for (let k = 0; k < fresh.length; k++) {
          // Shipped values are float16 roundings of float32 states: allow that rounding plus a
          // float32 margin for a different CPU's summation order.
          const excess = Math.abs(fresh[k] - shipped[k]) - halfUlp16(fresh[k]) - 1e-4 * Math.abs(fresh[k]) - 1e-5;
          worst = Math.max(worst, excess);
        }
        expect(worst).toBeLessThanOrEqual(0);
        checked += fresh.length;
      }
    }
    expect(checked).toBeGreaterThan(0);
    model.dispose();
  });

  it("samples every held-out document, across all of Brown's genres (extracted with --spread)", () => {
    const ds = HiddenStateDataset.open(STATES);
    const heldout = loadTextSource("corpus:brown:heldout").map((d) => d.id);
    const sources = new Set(ds.samples.map((s) => s.source));
    expect([...sources].sort()).toEqual([...heldout].sort());
    // Brown's 15 genres are the second letter of the file id (ca01 = a, press: reportage).
    expect(new Set([...sources].map((id) => id!.charAt(1))).size).toBe(15);
  });
});
