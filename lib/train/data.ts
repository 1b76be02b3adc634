/**
 * Training data for the byte-level model: documents become one stream of UTF-8 bytes, and
 * batches are random windows of that stream, each preceded by the BOS token.
 *
 * Every sequence starts with BOS because `linearity extract` starts every sequence with the
 * model's BOS token; the model must have seen that context in training. Input and target of a
 * window of `pos` bytes x0..x{pos-1} are
 *   ids     = [BOS, x0, ..., x{pos-2}]   // [pos]
 *   targets = [x0,  x1, ..., x{pos-1}]   // [pos]
 * so every target is a byte (BOS is never predicted) and the loss per token is a loss per byte.
 */
import type { Rng } from "./random";

/** Separator written between documents in the byte stream. */
export const DOCUMENT_SEPARATOR = "\n\n";

/** UTF-8 bytes of the documents' texts, joined by {@link DOCUMENT_SEPARATOR}. */
export function byteStream(texts: readonly string[]): Uint8Array {
  const buf = Buffer.from(texts.join(DOCUMENT_SEPARATOR), "utf8");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A batch of sequences, row-major `[batch, pos]`. */
export interface Batch {
  batch: number;
  pos: number;
  ids: Int32Array; // [batch, pos]
  targets: Int32Array; // [batch, pos]
}

/** Fill one row of a batch from the window starting at `start`. */
function fillRow(stream: Uint8Array, start: number, bos: number, pos: number, row: number, b: Batch): void {
  const base = row * pos;
  b.ids[base] = bos;
  for (let p = 0; p < pos; p++) {
    const byte = stream[start + p];
    b.targets[base + p] = byte;
    if (p + 1 < pos) b.ids[base + p + 1] = byte;
  }
}

function checkSizes(fn: string, stream: Uint8Array, batch: number, pos: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`${fn}: 'batch' expected an integer >= 1, got ${batch}`);
  if (!Number.isInteger(pos) || pos < 1) throw new Error(`${fn}: 'pos' expected an integer >= 1, got ${pos}`);
  if (stream.length < pos) {
    throw new Error(`${fn}: the text has ${stream.length} bytes, fewer than one sequence of pos=${pos}`);
  }
}

/**
 * `batch` windows at uniformly random starts drawn from `rng` (which advances by exactly `batch`
 * draws, so the data position is part of the saved RNG state).
 */
export function randomBatch(stream: Uint8Array, rng: Rng, batch: number, pos: number, bos: number): Batch {
  checkSizes("randomBatch", stream, batch, pos);
  const b: Batch = { batch, pos, ids: new Int32Array(batch * pos), targets: new Int32Array(batch * pos) };
  const starts = stream.length - pos + 1;
  for (let row = 0; row < batch; row++) fillRow(stream, rng.int(starts), bos, pos, row, b);
  return b;
}

/**
 * Fixed evaluation windows: `count` windows spread evenly over the stream (non-overlapping when
 * the stream is long enough), or every consecutive window when `count` is undefined. The same
 * arguments always give the same windows, so validation losses are comparable across steps.
 */
export function evalWindows(stream: Uint8Array, pos: number, bos: number, count?: number): Batch {
  checkSizes("evalWindows", stream, count ?? 1, pos);
  const all = Math.floor(stream.length / pos);
  const n = count === undefined ? all : Math.min(count, all);
  const b: Batch = { batch: n, pos, ids: new Int32Array(n * pos), targets: new Int32Array(n * pos) };
  const stride = n > 1 ? Math.floor((stream.length - pos) / (n - 1)) : 0;
  for (let row = 0; row < n; row++) fillRow(stream, row * stride, bos, pos, row, b);
  return b;
}

/** Rows `start .. start+rows-1` of a batch, as a new batch (views, not copies). */
export function sliceBatch(b: Batch, start: number, rows: number): Batch {
  const end = Math.min(b.batch, start + rows);
  return {
    batch: end - start,
    pos: b.pos,
    ids: b.ids.subarray(start * b.pos, end * b.pos),
    targets: b.targets.subarray(start * b.pos, end * b.pos),
  };
}
