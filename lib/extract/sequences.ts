/**
 * Cut documents into the model's input sequences, deterministically: the same tokenizer, text,
 * seqLen and maxTokens always give the same samples in the same order, which is what lets an
 * interrupted extraction continue where it stopped.
 *
 * Each document is tokenized on its own and cut into consecutive runs of seqLen - 1 tokens (seqLen
 * when the model has no BOS); each run becomes one sequence, BOS first. The last run of a document
 * may be shorter. With maxTokens, the sequences stop once that many tokens (BOS included) are
 * reached, the last one cut short to land on it (one short when only a BOS would still fit).
 * With `spread`, the runs are taken round-robin over the documents (the first run of each
 * document, then the second, ...), so a budget covers many documents instead of the first few.
 */
import { tagsForOffsets } from "../corpus/brown";
import type { TextTokenizer } from "../tokenizer";
import type { TextDocument } from "./source";

/** Tag given to the BOS position (it stands for no word). */
export const BOS_TAG = "bos";

/** Characters tokenized at a time in a long document (cut after a newline). */
const BLOCK_CHARS = 65536;

/** One model input: token ids (BOS first), its text, its part-of-speech tags where known, the document it came from. */
export interface Sequence {
  /** [pos] token ids, BOS first when the model has one. */
  readonly tokenIds: Int32Array;
  /** The document text these tokens cover. */
  readonly text: string;
  /** Part-of-speech tag per token (Brown only; BOS_TAG at BOS, "space" for whitespace tokens). */
  readonly tags?: string[];
  /** Document id. */
  readonly source: string;
}

/** How `cutSequences` cuts documents: sequence length, token budget, round-robin `spread`. */
export interface CutOptions {
  seqLen: number;
  maxTokens?: number;
  /**
   * Take the documents' runs round-robin (first run of every document, then the second, ...)
   * instead of document by document, so that a token budget samples every document.
   */
  spread?: boolean;
}

/** Tokens of a document with offsets into its text, tokenized block by block (lazily). */
function* documentTokens(doc: TextDocument, tokenizer: TextTokenizer): Generator<{ id: number; start: number; end: number }> {
  let start = 0;
  while (start < doc.text.length) {
    let end = Math.min(doc.text.length, start + BLOCK_CHARS);
    if (end < doc.text.length) {
      const nl = doc.text.lastIndexOf("\n", end - 1);
      if (nl >= start + BLOCK_CHARS / 2) end = nl + 1;
    }
    const enc = encodeBlock(tokenizer, doc.text.slice(start, end));
    for (let k = 0; k < enc.ids.length; k++) {
      yield { id: enc.ids[k], start: enc.offsets[k][0] + start, end: enc.offsets[k][1] + start };
    }
    start = end;
  }
}

type Token = { id: number; start: number; end: number };

/** The block each tokenizer encoded last, with its encoding. */
const lastBlock = new WeakMap<TextTokenizer, { text: string; enc: ReturnType<TextTokenizer["encode"]> }>();

/**
 * tokenizer.encode(text), remembering the last block per tokenizer: `linearity extract` cuts the
 * first sequence to check its arguments, then starts over from the first document, which would
 * otherwise be tokenized twice (about 0.15 s of a 512-token TinyLlama run). Encodings are only read.
 */
function encodeBlock(tokenizer: TextTokenizer, text: string): ReturnType<TextTokenizer["encode"]> {
  const last = lastBlock.get(tokenizer);
  if (last?.text === text) return last.enc;
  const enc = tokenizer.encode(text);
  lastBlock.set(tokenizer, { text, enc });
  return enc;
}

/** A document's runs of at most `body` tokens, in order (no budget applied). */
function* documentRuns(doc: TextDocument, tokenizer: TextTokenizer, body: number): Generator<Token[]> {
  let run: Token[] = [];
  for (const token of documentTokens(doc, tokenizer)) {
    run.push(token);
    if (run.length === body) {
      yield run;
      run = [];
    }
  }
  if (run.length > 0) yield run;
}

/**
 * The runs of all documents with their document: in document order, or with `spread` round-robin
 * (the first run of every document, then the second of every document that has one, ...).
 */
function* orderedRuns(
  docs: readonly TextDocument[],
  tokenizer: TextTokenizer,
  body: number,
  spread: boolean,
): Generator<{ doc: TextDocument; run: Token[] }> {
  if (!spread) {
    for (const doc of docs) for (const run of documentRuns(doc, tokenizer, body)) yield { doc, run };
    return;
  }
  let live = docs.map((doc) => ({ doc, runs: documentRuns(doc, tokenizer, body) }));
  while (live.length > 0) {
    const next: typeof live = [];
    for (const entry of live) {
      const r = entry.runs.next();
      if (r.done) continue;
      next.push(entry);
      yield { doc: entry.doc, run: r.value };
    }
    live = next;
  }
}

/** The sequences of `docs` (see the file comment). */
export function* cutSequences(docs: readonly TextDocument[], tokenizer: TextTokenizer, opts: CutOptions): Generator<Sequence> {
  const bos = tokenizer.bosTokenId;
  const reserved = bos === undefined ? 0 : 1;
  if (!Number.isInteger(opts.seqLen) || opts.seqLen < reserved + 1) {
    throw new Error(`seq-len must be an integer >= ${reserved + 1}, got ${opts.seqLen}`);
  }
  const body = opts.seqLen - reserved;
  let budget = opts.maxTokens ?? Infinity;

  for (const { doc, run } of orderedRuns(docs, tokenizer, body, opts.spread ?? false)) {
    // Land exactly on maxTokens: shorten the last sequence if needed.
    const room = Math.min(run.length, budget - reserved);
    if (room <= 0) return;
    const tokens = run.slice(0, room);
    budget -= room + reserved;
    const tokenIds = new Int32Array(reserved + tokens.length);
    if (bos !== undefined) tokenIds[0] = bos;
    tokens.forEach((t, k) => (tokenIds[reserved + k] = t.id));
    const startChar = tokens[0].start;
    const endChar = Math.max(...tokens.map((t) => t.end));
    const tags = doc.spans
      ? [...(reserved ? [BOS_TAG] : []), ...tagsForOffsets(doc.spans, tokens.map((t): [number, number] => [t.start, t.end]))]
      : undefined;
    yield { tokenIds, text: doc.text.slice(startChar, endChar), tags, source: doc.id };
    if (budget <= reserved) return;
  }
}
