import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { HfTokenizer, loadTokenizer } from "../../lib/tokenizer";
import { bytesToUnicode, gpt2TokenizerJson, llamaTokenizerJson, neoxTokenizerJson, writeTokenizerDir } from "./fixtures";

/** charOfByte[b] = [start, end) of the character (UTF-16 units) holding UTF-8 byte b of text. */
function charOfByte(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < text.length; ) {
    const units = text.codePointAt(i)! > 0xffff ? 2 : 1;
    const n = Buffer.byteLength(text.slice(i, i + units), "utf8");
    for (let b = 0; b < n; b++) out.push([i, i + units]);
    i += units;
  }
  return out;
}

/** Reference offsets from each token's own bytes, laid end to end over the text's UTF-8 bytes. */
function referenceOffsets(tokenBytes: number[][], text: string, skipBytes = 0): [number, number][] {
  const table = charOfByte(text);
  let pos = -skipBytes;
  return tokenBytes.map((bytes) => {
    const first = Math.max(0, pos);
    pos += bytes.length;
    const last = pos - 1;
    if (last < first) return table[first]; // only prefix bytes: the span of the next character
    return [table[first][0], table[last][1]];
  });
}

const gpt2 = gpt2TokenizerJson();
const unicodeToByte = new Map(bytesToUnicode().map((ch, b) => [ch, b]));
const gpt2Id2Tok = new Map([...gpt2.vocab].map(([t, id]) => [id, t]));
const gpt2Bytes = (id: number): number[] =>
  id === gpt2.eos ? [...Buffer.from("<|endoftext|>")] : [...gpt2Id2Tok.get(id)!].map((ch) => unicodeToByte.get(ch)!);

describe("HfTokenizer: GPT-2-style byte-level BPE", () => {
  const tok = new HfTokenizer(gpt2.json, {}, { bos_token_id: gpt2.eos });

  it("applies the merges: 'the cat' is two tokens", () => {
    const enc = tok.encode("the cat");
    expect(enc.ids).toEqual([gpt2.vocab.get("the"), gpt2.vocab.get("Ġcat")]);
    expect(enc.offsets).toEqual([[0, 3], [3, 7]]);
    expect(tok.bosTokenId).toBe(gpt2.eos);
    expect(tok.vocabSize).toBe(gpt2.eos + 1);
  });

  const texts = [
    "the cat sat on the mat",
    "café ☃ 😀x the",
    "  the\n\nthe cat<|endoftext|>the",
    "naïve — Ünïcödé, 漢字 and 𝔘 at the end\n",
  ];
  for (const text of texts) {
    it(`round-trips and gives byte-exact offsets: ${JSON.stringify(text)}`, () => {
      const enc = tok.encode(text);
      expect(tok.decode(enc.ids)).toBe(text);
      expect(enc.offsets).toEqual(referenceOffsets(enc.ids.map(gpt2Bytes), text));
    });
  }

  it("encodes long texts block by block with offsets into the whole text", () => {
    const line = "the cat sat on the mat. café 😀\n";
    const text = line.repeat(1200); // > 2 blocks of 16384 characters
    const enc = tok.encode(text);
    expect(tok.decode(enc.ids)).toBe(text);
    expect(enc.offsets).toEqual(referenceOffsets(enc.ids.map(gpt2Bytes), text));
  });

  it("maps offsets back through a lowercasing normalizer", () => {
    const json = { ...gpt2.json, normalizer: { type: "Lowercase" } };
    const lower = new HfTokenizer(json, {});
    const text = "The CAT sat";
    const enc = lower.encode(text);
    expect(lower.decode(enc.ids)).toBe("the cat sat");
    expect(enc.offsets.map(([s, e]) => text.slice(s, e))).toEqual(["The", " CAT", " ", "s", "at"]);
  });

  it("rejects ids outside the vocabulary in decode", () => {
    expect(() => tok.decode([0, 9999])).toThrow(/cannot decode id 9999, outside 0\.\.265/);
  });
});

const llama = llamaTokenizerJson();
const llamaId2Tok = new Map([...llama.vocab].map(([t, id]) => [id, t]));
const llamaBytes = (id: number): number[] => {
  const t = llamaId2Tok.get(id)!;
  const m = /^<0x([0-9A-F]{2})>$/.exec(t);
  return m ? [parseInt(m[1], 16)] : [...Buffer.from(t.replace(/▁/g, " "))];
};

describe("HfTokenizer: Pythia's tokenizer.json layout (GPT-NeoX BPE)", () => {
  const neox = neoxTokenizerJson();
  // Pythia's config.json says bos_token_id 0 (<|endoftext|>).
  const tok = new HfTokenizer(neox.json, { tokenizer_class: "GPTNeoXTokenizer" }, { bos_token_id: 0 });
  const id = (t: string) => neox.vocab.get(t)!;

  it("puts the specials first and applies the merges: 'the cat' is 'the', 'Ġcat'", () => {
    const enc = tok.encode("the cat");
    expect(enc.ids).toEqual([id("the"), id("Ġcat")]);
    expect(enc.offsets).toEqual([[0, 3], [3, 7]]);
    expect(id("!")).toBe(2); // the first byte symbol follows the two specials
    expect(tok.bosTokenId).toBe(0);
    expect(tok.vocabSize).toBe(neox.vocab.size);
  });

  it("NFC-normalizes: a decomposed 'é' gives the same ids as the composed one, offsets into the original text", () => {
    const composed = tok.encode("café");
    const decomposed = tok.encode("cafe\u0301");
    expect(decomposed.ids).toEqual(composed.ids);
    expect(composed.ids).toEqual([id("c"), id("a"), id("f"), id("Ã©")]);
    expect(decomposed.offsets[3]).toEqual([3, 5]); // 'e' + combining acute: two UTF-16 units
    expect(tok.decode(decomposed.ids)).toBe("café");
  });

  it("splits runs of spaces into the whitespace added tokens before BPE, longest first", () => {
    const enc = tok.encode("a      the");
    // "the" after the spaces starts a new piece without "Ġ": merges "h e" then "t he".
    expect(enc.ids).toEqual([id("a"), id("    "), id("  "), id("the")]);
    expect(tok.decode(enc.ids)).toBe("a      the");
    expect(enc.offsets).toEqual([[0, 1], [1, 5], [5, 7], [7, 10]]);
  });

  it("loads from a folder the way Pythia ships it (tokenizer.json + tokenizer_config.json)", () => {
    const dir = writeTokenizerDir(fs.mkdtempSync(path.join(os.tmpdir(), "neox-tok-")), neox.json, {
      add_prefix_space: false, bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>",
      tokenizer_class: "GPTNeoXTokenizer",
    });
    const loaded = loadTokenizer(dir, { bos_token_id: 0, vocab_size: 50304 });
    expect(loaded.kind).toBe("tokenizer.json (BPE)");
    expect(loaded.encode("the cat").ids).toEqual([id("the"), id("Ġcat")]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("HfTokenizer: Llama-style BPE with byte fallback", () => {
  const tok = new HfTokenizer(llama.json, {}, { bos_token_id: 1 });

  it("merges '▁the' and '▁cat' and strips the prepended space in offsets", () => {
    const enc = tok.encode("the cat");
    expect(enc.ids).toEqual([llama.vocab.get("▁the"), llama.vocab.get("▁cat")]);
    expect(enc.offsets).toEqual([[0, 3], [3, 7]]);
  });

  for (const text of ["the cat", " the  cat. été", "Zoé ☃ x", "cat\nthe 😀"]) {
    it(`round-trips with offsets matching the token bytes: ${JSON.stringify(text)}`, () => {
      const enc = tok.encode(text);
      expect(tok.decode(enc.ids)).toBe(text);
      // The normalizer prepends "▁" (one space once decoded): lay the token bytes over " " + text,
      // then shift back by that character; a token holding only it gets the first character.
      const inPadded = referenceOffsets(enc.ids.map(llamaBytes), " " + text);
      const expected = inPadded.map(([s, e]): [number, number] =>
        e - 1 <= 0 ? [0, text.codePointAt(0)! > 0xffff ? 2 : 1] : [Math.max(0, s - 1), e - 1],
      );
      expect(enc.offsets).toEqual(expected);
    });
  }
});

describe("loadTokenizer", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tok-"));

  it("reads tokenizer.json and tokenizer_config.json from a folder", () => {
    const dir = writeTokenizerDir(path.join(tmp, "gpt2"), gpt2.json, { model_max_length: 1024 });
    const tok = loadTokenizer(dir, { bos_token_id: gpt2.eos });
    expect(tok.kind).toBe("tokenizer.json (BPE)");
    expect(tok.encode("the cat").ids).toEqual([gpt2.vocab.get("the"), gpt2.vocab.get("Ġcat")]);
  });

  it("falls back to bytes without tokenizer.json", () => {
    const dir = path.join(tmp, "bytes");
    fs.mkdirSync(dir);
    const tok = loadTokenizer(dir, { bos_token_id: 256, d_vocab: 257 });
    expect(tok.kind).toBe("bytes");
    expect(tok.bosTokenId).toBe(256);
    expect(tok.encode("A").ids).toEqual([65]);
  });

  it("refuses bytes for a large-vocabulary model missing its tokenizer.json", () => {
    const dir = path.join(tmp, "bytes");
    expect(() => loadTokenizer(dir, { d_vocab: 50272 })).toThrow(/has no tokenizer\.json and the model's d_vocab is 50272/);
  });

  it("names the file when tokenizer.json is not JSON", () => {
    const dir = path.join(tmp, "broken");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "tokenizer.json"), "{not json");
    expect(() => loadTokenizer(dir, {})).toThrow(/broken\/tokenizer\.json: not valid JSON/);
  });

  it("names the file when tokenizer.json is not a tokenizer", () => {
    const dir = path.join(tmp, "wrong");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify({ hello: 1 }));
    expect(() => loadTokenizer(dir, {})).toThrow(/wrong\/tokenizer\.json: not a tokenizer tokenizers\.js can load/);
  });
});
