/**
 * ConsecutiveOutputsDataset: the original notebook's data reader, over a HiddenStateDataset.
 *
 * One item per (state b, token): `x` = state b, `v1` = state b+1, `v2` = state b+n+1 and
 * `blocks = [b, b+1, b+n+1]`, for b in 0 .. numLayers-n-2, ordered state-major, then sample,
 * then token. As in the original, `numLayers` counts the hidden states used (13 for OPT-125m,
 * whose 12 blocks give 13 states), and only the first `numSamples` samples are used.
 */
import * as tf from "@tensorflow/tfjs-core";
import { HiddenStateDataset, type StateChunk } from "./reader";

/** One item: three [d_model] rows of the same token. */
export interface ConsecutiveItem {
  x: Float32Array;
  v1: Float32Array;
  v2: Float32Array;
  /** [b, b + 1, b + n + 1]. */
  blocks: [number, number, number];
}

/** A block of consecutive items of one state b, each array [rows, d_model] row-major. */
export interface ConsecutiveChunk {
  /** Index of the chunk's first item. */
  index: number;
  /** First token of the chunk. */
  start: number;
  rows: number;
  x: Float32Array;
  v1: Float32Array;
  v2: Float32Array;
  blocks: [number, number, number];
}

/** Pairs of consecutive states (l, l+1) of a `HiddenStateDataset`, the original notebook's dataset, as chunks `[rows, d_model]`. */
export class ConsecutiveOutputsDataset implements Iterable<ConsecutiveItem> {
  readonly data: HiddenStateDataset;
  readonly numLayers: number;
  readonly numSamples: number;
  readonly n: number;
  /** Tokens of the first numSamples samples (items per state b). */
  readonly nTokens: number;
  /** Number of starting states b (numLayers - n - 1). */
  readonly nBlocks: number;
  readonly dModel: number;

  /**
   * @param root a dataset folder (either layout) or an open HiddenStateDataset
   * @param numLayers hidden states to use, at most the dataset's nStates
   * @param numSamples samples to use, at most the dataset's sample count
   * @param n the gap: v2 is n + 1 states after x
   */
  constructor(root: string | HiddenStateDataset, numLayers: number, numSamples: number, n: number) {
    const data = typeof root === "string" ? HiddenStateDataset.open(root) : root;
    const fn = "ConsecutiveOutputsDataset";
    if (!Number.isInteger(numLayers) || numLayers < 2 || numLayers > data.nStates) {
      throw new Error(`${fn}: numLayers must be an integer in 2..${data.nStates} (the dataset has ${data.nStates} states), got ${numLayers}`);
    }
    if (!Number.isInteger(numSamples) || numSamples < 1 || numSamples > data.samples.length) {
      throw new Error(`${fn}: numSamples must be an integer in 1..${data.samples.length} (samples available), got ${numSamples}`);
    }
    if (!Number.isInteger(n) || n < 0 || n > numLayers - 2) {
      throw new Error(`${fn}: n must be an integer in 0..${numLayers - 2} for numLayers=${numLayers} (state b+n+1 must exist), got ${n}`);
    }
    this.data = data;
    this.numLayers = numLayers;
    this.numSamples = numSamples;
    this.n = n;
    const last = data.samples[numSamples - 1];
    this.nTokens = last.offset + last.nTokens;
    this.nBlocks = numLayers - n - 1;
    this.dModel = data.dModel;
  }

  /** Number of items: (numLayers - n - 1) * tokens. */
  get length(): number {
    return this.nBlocks * this.nTokens;
  }

  /** The three states of starting state b: [b, b+1, b+n+1]. */
  blocksOf(b: number): [number, number, number] {
    this.checkBlock(b);
    return [b, b + 1, b + this.n + 1];
  }

  /** Item `i` (0 <= i < length), read from disk. */
  get(i: number): ConsecutiveItem {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new Error(`ConsecutiveOutputsDataset: index ${i} out of range 0..${this.length - 1}`);
    }
    const b = Math.floor(i / this.nTokens);
    const t = i % this.nTokens;
    const blocks = this.blocksOf(b);
    const [x, v1, v2] = blocks.map((s) => this.data.rows(s, t, t + 1));
    return { x, v1, v2, blocks };
  }

  /** State `s` for the used tokens as a tensor [tokens, d_model] (dispose it when done). */
  stateTensor(s: number): tf.Tensor2D {
    if (!Number.isInteger(s) || s < 0 || s >= this.numLayers) {
      throw new Error(`ConsecutiveOutputsDataset: state ${s} out of range 0..${this.numLayers - 1}`);
    }
    return tf.tensor2d(this.data.rows(s, 0, this.nTokens), [this.nTokens, this.dModel]);
  }

  /**
   * Items in order as blocks of up to `rows` tokens (default 4096), one starting state at a
   * time: memory stays O(rows * d_model) whatever the dataset size.
   */
  *chunks(opts: { rows?: number } = {}): Generator<ConsecutiveChunk> {
    const rows = opts.rows ?? 4096;
    for (let b = 0; b < this.nBlocks; b++) {
      const blocks = this.blocksOf(b);
      const stream = this.data.chunks({ rows, states: blocks, start: 0, end: this.nTokens }) as Iterable<StateChunk>;
      for (const c of stream) {
        yield {
          index: b * this.nTokens + c.start,
          start: c.start,
          rows: c.rows,
          x: c.states[0],
          v1: c.states[1],
          v2: c.states[2],
          blocks,
        };
      }
    }
  }

  /** All items in order (reads in chunks, yields one token at a time). */
  *[Symbol.iterator](): Iterator<ConsecutiveItem> {
    const d = this.dModel;
    for (const c of this.chunks({ rows: 1024 })) {
      for (let r = 0; r < c.rows; r++) {
        yield {
          x: c.x.slice(r * d, (r + 1) * d),
          v1: c.v1.slice(r * d, (r + 1) * d),
          v2: c.v2.slice(r * d, (r + 1) * d),
          blocks: [...c.blocks],
        };
      }
    }
  }

  private checkBlock(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.nBlocks) {
      throw new Error(`ConsecutiveOutputsDataset: starting state ${b} out of range 0..${this.nBlocks - 1}`);
    }
  }
}
