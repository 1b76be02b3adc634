import { describe, expect, it } from "vitest";
import { alignDecoded, decodePieces, piecesToOffsets } from "../../lib/tokenizer";

describe("decodePieces", () => {
  // A toy decoder: each id is a UTF-8 byte; the first token of a window loses one leading space
  // (like SentencePiece's Strip decoder), which the context window must absorb.
  const decode = (ids: number[]): string => new TextDecoder().decode(Uint8Array.from(ids)).replace(/^ /, "");

  it("emits each id's text and waits for multi-byte characters to complete", () => {
    const ids = [...Buffer.from(" a é b")];
    const pieces = decodePieces(decode, ids);
    expect(pieces).toEqual(["", "a", " ", "", "é", " ", "b"]);
    // The first id's space is stripped by the decoder, as a whole-sequence decode would do.
    expect(pieces.join("")).toBe(decode(ids));
  });

  it("piecesToOffsets gives empty pieces the span of the next character", () => {
    expect(piecesToOffsets(["a", "", "é", "", "", "😀x"])).toEqual([
      [0, 1], [1, 2], [1, 2], [2, 4], [2, 4], [2, 5],
    ]);
  });
});

describe("alignDecoded", () => {
  it("is the identity for equal strings", () => {
    expect([...alignDecoded("abc", "abc")]).toEqual([0, 1, 2, 3]);
  });

  it("maps a substituted unknown-token marker onto the character it replaced", () => {
    const map = alignDecoded("a <unk> b", "a ☃ b");
    expect([map[2], map[7]]).toEqual([2, 3]);
    expect(map[9]).toBe(5);
  });

  it("skips characters a normalizer dropped", () => {
    const map = alignDecoded("abcdef", "ab\u0000\u0001cdef");
    expect([...map]).toEqual([0, 1, 4, 5, 6, 7, 8]);
  });
});
