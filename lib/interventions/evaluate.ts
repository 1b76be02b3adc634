/**
 * Held-out language-model loss of any loadable model folder (`linearity eval`): the text is cut
 * into sequences of exactly seq-len tokens (BOS first when the model has one, never across two
 * documents, as extraction cuts them; a document's shorter tail is left out so every row has the
 * same length), each position predicts the next token, and the loss is the mean negative log
 * likelihood over all predicted tokens, in nats/token, summed in float64.
 */
import * as tf from "@tensorflow/tfjs-core";
import { idsTensor } from "../models/common/ids";
import { cutSequences } from "../extract/sequences";
import { loadTextSource } from "../extract/source";
import { openModel, sequenceLength } from "../models/open";
import { sequencesPerForward, type RunMode } from "../models/stream/plan";
import type { BlockOverride, Model } from "../models/types";
import type { TextTokenizer } from "../tokenizer";
import { realPathOf } from "../io/output-guard";
import { calibrationSources } from "./pruned-config";

/** Default number of evaluated tokens (BOS included): 256 sequences of 128, as training's final evaluation. */
export const DEFAULT_EVAL_TOKENS = 32768;
/** Default sequences per forward pass. */
export const DEFAULT_EVAL_BATCH = 8;

/** Token ids of the evaluated sequences: `ids` is [sequences, seqLen] row-major int32. */
export interface EvalIds {
  readonly ids: Int32Array;
  readonly sequences: number;
  readonly seqLen: number;
}

/**
 * The first sequences of exactly `seqLen` tokens that `text` gives, at most `maxTokens` tokens in
 * all (BOS included). Throws when the text gives no full sequence. `tokensFlag` names the token
 * budget's option in errors (prune's is --calibrate-tokens).
 */
export function evaluationIds(
  text: string,
  tokenizer: TextTokenizer,
  seqLen: number,
  maxTokens = DEFAULT_EVAL_TOKENS,
  tokensFlag = "--max-tokens",
): EvalIds {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new Error(`--seq-len must be an integer >= 2 to predict anything, got ${seqLen}`);
  if (!Number.isInteger(maxTokens) || maxTokens < seqLen) {
    throw new Error(`${tokensFlag} must be an integer >= --seq-len (${seqLen}), got ${maxTokens}`);
  }
  const want = Math.floor(maxTokens / seqLen);
  const rows: Int32Array[] = [];
  for (const seq of cutSequences(loadTextSource(text), tokenizer, { seqLen })) {
    if (seq.tokenIds.length !== seqLen) continue; // a document's shorter tail
    rows.push(seq.tokenIds);
    if (rows.length === want) break;
  }
  if (rows.length === 0) throw new Error(`text: ${text} gives no sequence of ${seqLen} tokens; use a smaller --seq-len`);
  const ids = new Int32Array(rows.length * seqLen);
  rows.forEach((r, i) => ids.set(r, i * seqLen));
  return { ids, sequences: rows.length, seqLen };
}

/** Summed and mean next-token loss. */
export interface LossResult {
  /** Sum of -log p(next token) over all predicted tokens, nats. */
  readonly sumNats: number;
  /** Predicted tokens: sequences x (seqLen - 1). */
  readonly predicted: number;
  /** sumNats / predicted. */
  readonly natsPerToken: number;
}

/**
 * Next-token loss of `model` on `ids` ([sequences, seqLen]), `batchSize` sequences per forward,
 * with `blockOverride` (see ForwardOptions) applied when given.
 * Position p's logits score token p + 1; the log-softmax is float32 (tfjs), the sum float64.
 */
export function nextTokenLoss(
  model: Model,
  ids: EvalIds,
  batchSize = DEFAULT_EVAL_BATCH,
  blockOverride?: BlockOverride,
): LossResult {
  const { seqLen, sequences } = ids;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size must be a positive integer, got ${batchSize}`);
  const dVocab = model.config.d_vocab;
  let sumNats = 0;
  for (let start = 0; start < sequences; start += batchSize) {
    const b = Math.min(batchSize, sequences - start);
    const rows = ids.ids.subarray(start * seqLen, (start + b) * seqLen);
    const nll = tf.tidy(() => {
      const input = idsTensor(dVocab, rows, [b, seqLen]); // [batch, pos], ids checked here once
      const out = model.forward(input, { logits: true, blockOverride });
      tf.dispose([...out.hiddenStates, out.residPreFinalNorm]);
      // Logits of positions 0..pos-2 predict the tokens at 1..pos-1: [batch * (pos - 1), d_vocab].
      const logits = tf.reshape(tf.slice(out.logits!, [0, 0, 0], [b, seqLen - 1, dVocab]), [b * (seqLen - 1), dVocab]);
      const targets = tf.reshape(tf.slice(input, [0, 1], [b, seqLen - 1]), [b * (seqLen - 1)]);
      // -log p(target) per predicted token: [batch * (pos - 1)].
      const logProbs = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logProbs, tf.cast(tf.oneHot(targets, dVocab), "float32")), 1);
      return tf.neg(picked);
    });
    const values = nll.dataSync();
    nll.dispose();
    for (let i = 0; i < values.length; i++) sumNats += values[i];
  }
  const predicted = sequences * (seqLen - 1);
  return { sumNats, predicted, natsPerToken: sumNats / predicted };
}

/** Options of {@link evaluateModel} (the `linearity eval` flags). */
export interface EvaluateOptions {
  /** Local model folder or hub id. */
  model: string;
  /** Text source: a file or corpus:brown[:train|:heldout]. Default corpus:brown:heldout. */
  text?: string;
  maxTokens?: number;
  /** Tokens per sequence, BOS included; default min(256, n_ctx). */
  seqLen?: number;
  batchSize?: number;
  /** Hub revision when `model` is a hub id. */
  revision?: string;
  /** Memory budget, bytes or a size such as "4G" (see openModel; default: 3/4 of the available memory). */
  memory?: number | string;
  /** Force whole or streamed runs (default "auto"). */
  run?: RunMode;
}

/** What `linearity eval` reports. */
export interface EvaluateResult extends LossResult {
  readonly ids: EvalIds;
  /** The tokenizer's kind ("bytes" for byte-level models). */
  readonly tokenizer: string;
  /** Bits per byte, for byte-level models (one token = one byte): natsPerToken / ln 2. */
  readonly bitsPerByte?: number;
  /** exp(natsPerToken), for models with a tokenizer.json. */
  readonly perplexity?: number;
  /** n_layers of the evaluated model. */
  readonly nLayers: number;
  /** True when the model streamed its weights block by block. */
  readonly streamed: boolean;
}

/** Default held-out text of `linearity eval`. */
export const DEFAULT_EVAL_TEXT = "corpus:brown:heldout";
const DEFAULT_SEQ_LEN = 256;

/**
 * Two text sources that can share tokens: equal specs, a file with itself, or the whole Brown
 * Corpus with one of its parts.
 */
export function textSourcesOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const brown = (s: string) => s === "corpus:brown" || s.startsWith("corpus:brown:");
  if (brown(a) && brown(b)) return a === "corpus:brown" || b === "corpus:brown";
  // Two spellings of one file (relative to the working directory, or through a symlink).
  if (!a.startsWith("corpus:") && !b.startsWith("corpus:")) return realPathOf(a) === realPathOf(b);
  return false;
}

/**
 * Evaluate a model folder on held-out text. Refuses text that overlaps the calibration text a
 * pruned folder records (`linearity_prune.calibrate`): a replacement fitted on the tokens it is
 * scored on would look better than it is.
 */
export async function evaluateModel(opts: EvaluateOptions): Promise<EvaluateResult> {
  const text = opts.text ?? DEFAULT_EVAL_TEXT;
  const model = await openModel(opts.model, { revision: opts.revision, memory: opts.memory, run: opts.run });
  try {
    const cfg = model.config;
    for (const calibrated of calibrationSources(model.hfConfig)) {
      if (textSourcesOverlap(text, calibrated)) {
        throw new Error(`--text ${text} overlaps the text ${calibrated} this model's replacements were fitted on (config.json linearity_prune); evaluate on other text`);
      }
    }
    const seqLen = sequenceLength(cfg, opts.seqLen, DEFAULT_SEQ_LEN, "--seq-len");
    const tokenizer = model.tokenizer;
    const ids = evaluationIds(text, tokenizer, seqLen, opts.maxTokens ?? DEFAULT_EVAL_TOKENS);
    // Streamed: as many sequences per forward as the budget holds (logits, log-softmax and one-hot on top).
    const batch = sequencesPerForward(model.plan, cfg, seqLen, opts.batchSize ?? DEFAULT_EVAL_BATCH, cfg.n_layers + 1, 16 * cfg.d_vocab);
    const loss = nextTokenLoss(model, ids, batch);
    const bytes = tokenizer.kind === "bytes";
    return {
      ...loss, ids, tokenizer: tokenizer.kind, nLayers: cfg.n_layers, streamed: model.streamed,
      bitsPerByte: bytes ? loss.natsPerToken / Math.LN2 : undefined,
      perplexity: bytes ? undefined : Math.exp(loss.natsPerToken),
    };
  } finally {
    model.dispose();
  }
}
