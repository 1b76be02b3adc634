import { describe, expect, it } from "vitest";
import { ByteTokenizer, tokenPieces } from "../../lib/tokenizer";

describe("tokenPieces", () => {
  it("shows a multi-byte character once, on its first byte, and BOS as ⟨bos⟩", () => {
    // "aé": bytes a, c3, a9; the two bytes of é share the offsets [1, 2]
    expect(tokenPieces("aé", [[0, 1], [1, 2], [1, 2]], true)).toEqual(["\u27e8bos\u27e9", "a", "é", ""]);
  });

  it("gives the byte tokenizer's pieces of a text back in order", () => {
    const tok = new ByteTokenizer({});
    const text = "a b\nc";
    const enc = tok.encode(text);
    expect(tokenPieces(text, enc.offsets).join("")).toBe(text);
  });
});
