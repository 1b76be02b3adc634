import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadBrown } from "../../lib/corpus/brown";
import { BOS_TAG, cutSequences } from "../../lib/extract/sequences";
import { loadTextSource } from "../../lib/extract/source";
import { ByteTokenizer } from "../../lib/tokenizer";

const withBos = new ByteTokenizer({ bos_token_id: 256, d_vocab: 257 });
const noBos = new ByteTokenizer({});
const ids = (s: string): number[] => [...Buffer.from(s)];

describe("cutSequences", () => {
  const doc = { id: "d", text: "abcdefghij" };

  it("cuts runs of seqLen - 1 tokens, each after BOS; the last may be shorter", () => {
    const seqs = [...cutSequences([doc], withBos, { seqLen: 4 })];
    expect(seqs.map((s) => [...s.tokenIds])).toEqual([
      [256, ...ids("abc")],
      [256, ...ids("def")],
      [256, ...ids("ghi")],
      [256, ...ids("j")],
    ]);
    expect(seqs.map((s) => s.text)).toEqual(["abc", "def", "ghi", "j"]);
    expect(seqs.every((s) => s.source === "d" && s.tags === undefined)).toBe(true);
  });

  it("uses all seqLen tokens when the model has no BOS", () => {
    const seqs = [...cutSequences([doc], noBos, { seqLen: 4 })];
    expect(seqs.map((s) => s.text)).toEqual(["abcd", "efgh", "ij"]);
  });

  it("stops exactly at maxTokens (BOS included), shortening the last sequence", () => {
    const seqs = [...cutSequences([doc, { id: "e", text: "xyz" }], withBos, { seqLen: 4, maxTokens: 6 })];
    expect(seqs.map((s) => [...s.tokenIds])).toEqual([[256, ...ids("abc")], [256, ...ids("d")]]);
    const ten = [...cutSequences([doc, { id: "e", text: "xyz" }], withBos, { seqLen: 4, maxTokens: 10 })];
    // 10 tokens: "abc", "def", then room for BOS + "g"; document "e" is never reached.
    expect(ten.map((s) => s.text)).toEqual(["abc", "def", "g"]);
    expect(ten.reduce((n, s) => n + s.tokenIds.length, 0)).toBe(10);
    // 9 tokens: after "abc" and "def" only a BOS would fit, so it stops one short.
    const nine = [...cutSequences([doc], withBos, { seqLen: 4, maxTokens: 9 })];
    expect(nine.map((s) => s.text)).toEqual(["abc", "def"]);
  });

  it("never lets a sequence span two documents", () => {
    const seqs = [...cutSequences([{ id: "a", text: "12345" }, { id: "b", text: "678" }], withBos, { seqLen: 4 })];
    expect(seqs.map((s) => `${s.source}:${s.text}`)).toEqual(["a:123", "a:45", "b:678"]);
  });

  it("with spread, takes runs round-robin over documents and stops at maxTokens", () => {
    const docs = [{ id: "a", text: "1234567" }, { id: "b", text: "xy" }, { id: "c", text: "pqrst" }];
    const all = [...cutSequences(docs, withBos, { seqLen: 3, spread: true })];
    // Runs of 2: a = 12 34 56 7, b = xy, c = pq rs t. Round 1: a b c, round 2: a c, round 3: a c, round 4: a.
    expect(all.map((s) => `${s.source}:${s.text}`)).toEqual(["a:12", "b:xy", "c:pq", "a:34", "c:rs", "a:56", "c:t", "a:7"]);
    // Same tokens as without spread, only reordered.
    const plain = [...cutSequences(docs, withBos, { seqLen: 3 })];
    const key = (s: { source: string; text: string }): string => `${s.source}:${s.text}`;
    expect(all.map(key).sort()).toEqual(plain.map(key).sort());
    // 11 tokens: three full sequences (9), then BOS + "3" lands exactly on the budget.
    const cut = [...cutSequences(docs, withBos, { seqLen: 3, maxTokens: 11, spread: true })];
    expect(cut.map(key)).toEqual(["a:12", "b:xy", "c:pq", "a:3"]);
    expect(cut.reduce((n, s) => n + s.tokenIds.length, 0)).toBe(11);
  });

  it("keeps multi-byte characters' text whole even when a cut falls inside one", () => {
    const seqs = [...cutSequences([{ id: "u", text: "aé😀" }], withBos, { seqLen: 3 })];
    // bytes: a, c3 a9, f0 9f 98 80 -> runs [a c3] [a9 f0] [9f 98] [80]
    expect(seqs.map((s) => s.text)).toEqual(["aé", "é😀", "😀", "😀"]);
    expect(seqs.flatMap((s) => [...s.tokenIds.slice(1)])).toEqual(ids("aé😀"));
  });

  it("tags every token of a Brown document with its word's tag, and BOS with 'bos'", () => {
    const brown = loadBrown().slice(0, 2);
    // Independent reference: the tag of each character, from the spans.
    const charTags = brown.map((d) => {
      const t: string[] = new Array(d.text.length).fill("space");
      for (const s of d.spans) for (let c = s.start; c < s.end; c++) t[c] = s.tag;
      return t;
    });
    const seqs = [...cutSequences(brown, withBos, { seqLen: 64, maxTokens: 5000 })];
    let checked = 0;
    const cursor = new Map<string, number>();
    for (const s of seqs) {
      const d = brown.findIndex((b) => b.id === s.source);
      expect(s.tags![0]).toBe(BOS_TAG);
      expect(s.tags!.length).toBe(s.tokenIds.length);
      // Walk the document's bytes in step with the sequence (ASCII text in these files).
      let at = cursor.get(s.source) ?? 0;
      expect(brown[d].text.slice(at, at + s.text.length)).toBe(s.text);
      for (let k = 1; k < s.tokenIds.length; k++, at++) {
        expect(s.tags![k]).toBe(charTags[d][at]);
        checked++;
      }
      cursor.set(s.source, at);
    }
    expect(checked).toBe(5000 - seqs.length);
    expect(new Set(seqs.flatMap((s) => s.tags)).has("at")).toBe(true);
  });

  it("refuses a seqLen with no room for a token after BOS", () => {
    expect(() => [...cutSequences([doc], withBos, { seqLen: 1 })]).toThrow("seq-len must be an integer >= 2, got 1");
  });
});

describe("loadTextSource", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "text-"));

  it("reads a file as one document named after it", () => {
    const f = path.join(tmp, "story.txt");
    fs.writeFileSync(f, "Once upon a time.\n");
    expect(loadTextSource(f)).toEqual([{ id: "story.txt", text: "Once upon a time.\n" }]);
  });

  it("gives the Brown Corpus and its splits", () => {
    expect(loadTextSource("corpus:brown").length).toBe(500);
    expect(loadTextSource("corpus:brown:train").length).toBe(450);
    const held = loadTextSource("corpus:brown:heldout");
    expect(held.length).toBe(50);
    expect(held[0].spans!.length).toBeGreaterThan(100);
  });

  it("names what is wrong with the text argument", () => {
    expect(() => loadTextSource(path.join(tmp, "nope.txt"))).toThrow(/text: file .*nope\.txt does not exist/);
    fs.writeFileSync(path.join(tmp, "empty.txt"), " \n\n");
    expect(() => loadTextSource(path.join(tmp, "empty.txt"))).toThrow(/empty\.txt is empty; there is nothing to extract/);
    expect(() => loadTextSource(tmp)).toThrow(/is a folder; pass a UTF-8 text file/);
    expect(() => loadTextSource("corpus:penn")).toThrow("text: unknown corpus 'corpus:penn'; expected one of corpus:brown, corpus:brown:train, corpus:brown:heldout or a file");
  });
});
