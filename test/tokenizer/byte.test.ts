import { describe, expect, it } from "vitest";
import { ByteTokenizer } from "../../lib/tokenizer";

describe("ByteTokenizer", () => {
  const tok = new ByteTokenizer({ bos_token_id: 256, d_vocab: 257 });

  it("gives one id per UTF-8 byte", () => {
    expect(tok.encode("Hi!").ids).toEqual([72, 105, 33]);
    expect(tok.encode("é").ids).toEqual([0xc3, 0xa9]);
    expect(tok.encode("😀").ids).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    expect(tok.bosTokenId).toBe(256);
    expect(tok.vocabSize).toBe(257);
  });

  it("gives every byte the JavaScript string span of its character", () => {
    const text = "aé☃😀b";
    expect(tok.encode(text).offsets).toEqual([
      [0, 1],
      [1, 2], [1, 2],
      [2, 3], [2, 3], [2, 3],
      [3, 5], [3, 5], [3, 5], [3, 5],
      [5, 6],
    ]);
  });

  for (const text of ["", "plain ASCII\n", "naïve café — 漢字 😀 𝔘", "tab\there\r\n\u0000end"]) {
    it(`round-trips ${JSON.stringify(text)} (and matches Buffer's UTF-8)`, () => {
      const enc = tok.encode(text);
      expect(enc.ids).toEqual([...Buffer.from(text, "utf8")]);
      expect(tok.decode(enc.ids)).toBe(text);
      expect(enc.offsets.length).toBe(enc.ids.length);
    });
  }

  it("skips BOS when decoding and replaces broken UTF-8 with U+FFFD", () => {
    expect(tok.decode([256, 72, 105])).toBe("Hi");
    expect(tok.decode([0xc3])).toBe("\uFFFD");
  });

  it("encodes a lone surrogate as U+FFFD's bytes, as Buffer does", () => {
    expect(tok.encode("a\ud800b").ids).toEqual([...Buffer.from("a\ud800b", "utf8")]);
    expect(tok.encode("a\ud800b").offsets[1]).toEqual([1, 2]);
  });

  it("rejects ids outside the vocabulary", () => {
    expect(() => tok.decode([257])).toThrow(/id 257 is outside 0\.\.256/);
  });

  it("defaults: no BOS, 256 ids; refuses too small or bad configs", () => {
    const plain = new ByteTokenizer();
    expect(plain.bosTokenId).toBeUndefined();
    expect(plain.vocabSize).toBe(256);
    expect(() => new ByteTokenizer({ d_vocab: 100 })).toThrow(/needs d_vocab >= 256/);
    expect(() => new ByteTokenizer({ bos_token_id: -1 })).toThrow(/bos_token_id must be a non-negative integer/);
  });
});
