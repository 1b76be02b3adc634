/**
 * The logit lens, scored against the true next token (the definition of LLM-Microscope's paper,
 * arXiv 2502.15007): for every hidden state h_l, logits_l = unembed(finalNorm(h_l)), except the
 * last state, which HF already returns after the final norm (logits = unembed(h_last), exactly
 * the model's own logits). Per state: the next-token loss in nats and top-1 accuracy, per token
 * and averaged over every predicted position (position t predicts token t + 1).
 *
 * LLM-Microscope's code (logit_lens.py) differs: it applies lm_head without the final norm and
 * scores the argmax's own probability rather than the true next token.
 */
import * as tf from "@tensorflow/tfjs-core";
import { cutSequences } from "../extract/sequences";
import { loadTextSource } from "../extract/source";
import { loadModel } from "../models/load";
import { openModel, sequenceLength } from "../models/open";
import { sequencesPerForward, type RunMode } from "../models/stream/plan";
import type { Model } from "../models/types";
import type { TextTokenizer } from "../tokenizer";

/** A model with its readout (final norm, unembedding) as separate steps: every Model has one. */
export type LensModel = Model;

/** The model itself (every Model carries its readout; kept for callers written before it did). */
export function withReadout(model: Model): LensModel {
  return model;
}

/** Load a local checkpoint folder for the lens: whole when it fits the default memory budget, streamed otherwise (loadModel). */
export function loadLensModel(dir: string): LensModel {
  return loadModel(dir);
}

/** The lens on one sequence: per state, per predicted position (pos - 1 of them). */
export interface SequenceLens {
  ids: Int32Array;
  /** [state][pos - 1] next-token loss in nats. */
  loss: Float32Array[];
  /** [state][pos - 1] 1 where the argmax is the true next token. */
  hit: Uint8Array[];
  /** [pos - 1] the model's own next-token loss (from its forward pass's logits). */
  modelLoss: Float32Array;
}

/** Per-position cross-entropy and top-1 hits of logits [batch, pos, d_vocab] against ids shifted by one. */
async function scoreLogits(logits: tf.Tensor3D, targets: tf.Tensor2D): Promise<{ loss: Float32Array; hit: Uint8Array }> {
  const [b, p, v] = logits.shape;
  const [lossT, hitT] = tf.tidy(() => {
    const pred = tf.slice(logits, [0, 0, 0], [b, p - 1, v]); // [batch, pos-1, d_vocab]
    const lse = tf.logSumExp(pred, -1); // [batch, pos-1]
    const flat = tf.reshape(pred, [-1]);
    // Index of each target logit in the flattened [batch, pos-1, d_vocab] tensor.
    const rows = tf.range(0, b * (p - 1), 1, "int32");
    const idx = tf.add(tf.mul(rows, tf.scalar(v, "int32")), tf.reshape(targets, [-1]));
    const target = tf.reshape(tf.gather(flat, idx), [b, p - 1]);
    const hit = tf.equal(tf.argMax(pred, -1), targets);
    return [tf.sub(lse, target), hit];
  });
  try {
    return { loss: (await lossT.data()) as Float32Array, hit: Uint8Array.from(await hitT.data()) };
  } finally {
    tf.dispose([lossT, hitT]);
  }
}

/** The lens on sequences of equal length (one forward pass). */
export async function lensBatch(model: LensModel, sequences: readonly Int32Array[]): Promise<SequenceLens[]> {
  const pos = sequences[0]?.length ?? 0;
  if (pos < 2) throw new Error(`logitLens: sequences need at least 2 tokens, got ${pos}`);
  if (sequences.some((s) => s.length !== pos)) throw new Error("lensBatch: sequences must have equal lengths");
  const b = sequences.length;
  const ids = new Int32Array(b * pos);
  sequences.forEach((s, i) => ids.set(s, i * pos));
  const input = tf.tensor2d(ids, [b, pos], "int32");
  const targets = tf.tidy(() => tf.slice(input, [0, 1], [b, pos - 1]) as tf.Tensor2D);
  const out = model.forward(input);
  const S = model.config.n_layers + 1;
  const perState: { loss: Float32Array; hit: Uint8Array }[] = [];
  try {
    for (let s = 0; s < S; s++) {
      // The last state is already after the final norm (HF convention): unembed only.
      const logits = tf.tidy(() =>
        s === S - 1 ? model.readout.unembed(out.hiddenStates[s]) : model.readout.unembed(model.readout.finalNorm(out.hiddenStates[s])),
      );
      try {
        perState.push(await scoreLogits(logits, targets));
      } finally {
        logits.dispose();
      }
    }
    const own = await scoreLogits(out.logits!, targets);
    const n = pos - 1;
    return sequences.map((seq, i) => ({
      ids: seq,
      loss: perState.map((r) => r.loss.slice(i * n, (i + 1) * n)),
      hit: perState.map((r) => r.hit.slice(i * n, (i + 1) * n)),
      modelLoss: own.loss.slice(i * n, (i + 1) * n),
    }));
  } finally {
    tf.dispose([input, targets, out.residPreFinalNorm, ...out.hiddenStates]);
    if (out.logits) out.logits.dispose();
  }
}

/** The lens on sequences of any lengths, batched by length. Results in input order. */
export async function lensSequences(model: LensModel, sequences: readonly Int32Array[], batchSize = 8): Promise<SequenceLens[]> {
  const out: SequenceLens[] = new Array(sequences.length);
  const byLength = new Map<number, number[]>();
  sequences.forEach((s, i) => byLength.set(s.length, [...(byLength.get(s.length) ?? []), i]));
  for (const members of byLength.values()) {
    for (let k = 0; k < members.length; k += batchSize) {
      const part = members.slice(k, k + batchSize);
      const res = await lensBatch(model, part.map((m) => sequences[m]));
      part.forEach((m, j) => (out[m] = res[j]));
    }
  }
  return out;
}

/** Logit-lens loss and top-1 accuracy per state over the positions read, with the model's own loss and the ids read. */
export interface LensSummary {
  /** Each evaluated sequence's token ids. */
  ids: number[][];
  /** Per state: mean next-token loss (nats) over every predicted position. */
  loss: number[];
  /** Per state: share of positions whose argmax is the true next token. */
  top1: number[];
  /** The model's own mean loss (equals loss[n_layers]). */
  modelLoss: number;
  /** Predicted positions averaged over (sum of pos - 1). */
  positions: number;
}

/** Means over all positions of all sequences. */
export function summarizeLens(results: readonly SequenceLens[]): LensSummary {
  const S = results[0]?.loss.length ?? 0;
  const loss = new Array<number>(S).fill(0), top1 = new Array<number>(S).fill(0);
  let own = 0, positions = 0;
  for (const r of results) {
    for (let s = 0; s < S; s++) {
      for (const v of r.loss[s]) loss[s] += v;
      for (const v of r.hit[s]) top1[s] += v;
    }
    for (const v of r.modelLoss) own += v;
    positions += r.modelLoss.length;
  }
  return {
    ids: results.map((r) => Array.from(r.ids)),
    loss: loss.map((v) => v / positions),
    top1: top1.map((v) => v / positions),
    modelLoss: own / positions,
    positions,
  };
}

/** Options of `logitLens` (the `linearity lens` command): model, text (a `--text` spec), token budget, sequence length, batching. */
export interface LogitLensOptions {
  /** Local model folder or hub id. */
  model: string;
  /** A text file or corpus:brown[:train|:heldout] (as extract's --text). */
  text: string;
  /** Tokens to evaluate, BOS included (default 4096). */
  maxTokens?: number;
  /** Tokens per sequence, BOS included (default min(256, n_ctx)). */
  seqLen?: number;
  /** Round-robin over documents (as extract --spread). */
  spread?: boolean;
  batchSize?: number;
  revision?: string;
  /** Memory budget, bytes or a size such as "4G" (see openModel; default: 3/4 of the available memory). */
  memory?: number | string;
  /** Force whole or streamed runs (default "auto"). */
  run?: RunMode;
}

/** Cut the text like `extract`, run the lens on every sequence, and return per-sequence results and the summary. */
export async function logitLens(opts: LogitLensOptions): Promise<{ sequences: SequenceLens[]; summary: LensSummary; tokenizer: TextTokenizer; streamed: boolean }> {
  const docs = loadTextSource(opts.text);
  const model = await openModel(opts.model, { revision: opts.revision, memory: opts.memory, run: opts.run });
  try {
    const seqLen = sequenceLength(model.config, opts.seqLen, 256, "--seq-len");
    const tokenizer = model.tokenizer;
    const ids = [...cutSequences(docs, tokenizer, { seqLen, maxTokens: opts.maxTokens ?? 4096, spread: opts.spread })]
      .map((s) => s.tokenIds)
      .filter((s) => s.length >= 2);
    if (ids.length === 0) throw new Error(`text: ${opts.text} gives no sequence of 2 or more tokens`);
    // Streamed: as many sequences per forward as the budget holds (the logits of one state at a time on top).
    const batch = sequencesPerForward(model.plan, model.config, seqLen, opts.batchSize ?? 8, model.config.n_layers + 1, 16 * model.config.d_vocab);
    const sequences = await lensSequences(model, ids, batch);
    return { sequences, summary: summarizeLens(sequences), tokenizer, streamed: model.streamed };
  } finally {
    model.dispose();
  }
}
