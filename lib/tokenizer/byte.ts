/**
 * A byte-level tokenizer for models that ship no tokenizer.json, such as the project's own
 * trained Llama (d_vocab 257, bos_token_id 256): ids 0..255 are the bytes of the UTF-8 encoding,
 * and any id above 255 is a special token (BOS) that decodes to nothing.
 */
import type { Encoded, TextTokenizer, TokenizerModelConfig } from "./types";

export class ByteTokenizer implements TextTokenizer {
  readonly bosTokenId?: number;
  readonly vocabSize: number;
  readonly kind = "bytes";

  constructor(config: TokenizerModelConfig = {}) {
    const bos = config.bos_token_id;
    if (bos !== undefined && bos !== null) {
      if (!Number.isInteger(bos) || bos < 0) {
        throw new Error(`ByteTokenizer: bos_token_id must be a non-negative integer, got ${bos}`);
      }
      this.bosTokenId = bos;
    }
    const declared = config.d_vocab ?? config.vocab_size;
    this.vocabSize = declared ?? Math.max(256, (this.bosTokenId ?? 0) + 1);
    if (this.vocabSize < 256) {
      throw new Error(`ByteTokenizer: a byte-level model needs d_vocab >= 256, config says ${this.vocabSize}`);
    }
  }

  /** One id per UTF-8 byte; every byte of a character gets that character's [start, end). */
  encode(text: string): Encoded {
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    const scratch = new Uint8Array(4);
    const encoder = new TextEncoder();
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      // A lone surrogate is not a code point: TextEncoder writes U+FFFD for it, as Buffer does.
      const units = cp > 0xffff ? 2 : 1;
      const n = encoder.encodeInto(text.slice(i, i + units), scratch).written;
      for (let b = 0; b < n; b++) {
        ids.push(scratch[b]);
        offsets.push([i, i + units]);
      }
      i += units;
    }
    return { ids, offsets };
  }

  /** UTF-8 decode of ids 0..255; ids above 255 (BOS) are skipped; bad sequences become U+FFFD. */
  decode(ids: readonly number[]): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`ByteTokenizer.decode: id ${id} is outside 0..${this.vocabSize - 1}`);
      }
      if (id < 256) bytes[n++] = id;
    }
    return new TextDecoder("utf-8").decode(bytes.subarray(0, n));
  }
}
