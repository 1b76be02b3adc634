/**
 * The tokenizer contract shared by extraction, training and the notebooks.
 *
 * Offsets are JavaScript string indices (UTF-16 code units) into the text given to `encode`, so
 * `text.slice(start, end)` is the text a token stands for. Several tokens may share one character
 * (a byte-level tokenizer splits "é" into two byte tokens; both get the span of "é").
 */
export interface Encoded {
  /** Token ids, without BOS (callers add it where a sequence starts). */
  ids: number[];
  /** [start, end) character offsets into the encoded text, one per id. */
  offsets: [number, number][];
}

/** What extraction, evaluation and the lens need from a tokenizer: encode (with offsets), decode, BOS id, vocabulary size. */
export interface TextTokenizer {
  encode(text: string): Encoded;
  decode(ids: readonly number[]): string;
  /** The token that starts every sequence, when the model has one (config.bos_token_id). */
  bosTokenId?: number;
  /** Number of ids the tokenizer can produce (d_vocab of a matching model). */
  vocabSize: number;
  /** Short description for dataset metadata, e.g. "tokenizer.json (BPE)" or "bytes". */
  kind: string;
}

/** The fields of a model config that a tokenizer needs (DecoderConfig and config.json both fit). */
export interface TokenizerModelConfig {
  bos_token_id?: number | null;
  d_vocab?: number;
  vocab_size?: number;
}
