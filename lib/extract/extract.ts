/**
 * Hidden-state extraction: run a model over text and save every hidden state (n_layers + 1 per
 * token, as HF `output_hidden_states`; or sublayer points, see points.ts) with the token ids, the text of each sequence and, for the
 * Brown Corpus, the part-of-speech tag of each token.
 *
 * Resumable: samples are appended batch by batch through HiddenStateWriter (each batch is one
 * atomic shard + manifest update), and the sequences are cut deterministically, so a second run
 * with the same settings skips the samples already committed and continues with the next one.
 * Stopping (Ctrl-C, kill, AbortSignal, maxBatches) therefore never loses or corrupts written data.
 */
import * as path from "node:path";
import { HiddenStateWriter, isWriterFolder } from "../dataset/writer";
import { acquireOutputLock, type OutputLock } from "../io/lock";
import { guardOutput } from "../io/output-guard";
import type { DecoderConfig } from "../models/config";
import { resolveModel, type DownloadProgress } from "../hub/hub";
import { checkVocabulary, openLocalModel, sequenceLength, type OpenedModel } from "../models/open";
import { defaultMemoryBudget, parseMemorySize } from "../models/stream/memory";
import { openCheckpoint } from "../models/load";
import { planModel, sequencesPerForward, type RunMode } from "../models/stream/plan";
import { loadTokenizer, type TextTokenizer } from "../tokenizer";
import { modelFingerprint } from "./fingerprint";
import { checkResumable, firstDifference, storedSequenceIds, type ExtractionSettings } from "./resume";
import { batchStates, forwardBatch } from "./batch";
import { Float16Batch } from "../dataset/float16-batch";
import { ForwardPool } from "./forward-pool";
import { parsePoints, pointStates } from "./points";
import { cutSequences, type Sequence } from "./sequences";
import { parseShard, planShard, shardSequences } from "./shard";
import type { ShardInfo } from "../dataset/types";
import { loadTextSource } from "./source";

/** The dtypes `extract` can store states in. */
export type ExtractDtype = "float16" | "float32";

/** Extraction progress as the library reports it. */
export interface ExtractProgress {
  /** Tokens in the dataset so far (including tokens written by an earlier, interrupted run). */
  tokens: number;
  /** Samples (sequences) in the dataset so far. */
  samples: number;
  /** Tokens the run will reach when known (option maxTokens, or the shard's tokens), else undefined. */
  totalTokens?: number;
  /** Tokens processed by this run only, for a tokens/s figure. */
  tokensThisRun: number;
  /** Seconds since this run started its first batch. */
  seconds: number;
}

/** Options of `extract` (the `linearity extract` command): model, text, output folder, token budget and batching. See docs/extraction.md. */
export interface ExtractOptions {
  /** A local model folder or a hub id (downloaded into the cache). */
  model: string;
  /** A UTF-8 text file, "corpus:brown", "corpus:brown:train" or "corpus:brown:heldout". */
  text: string;
  /** Dataset folder to create or continue. */
  out: string;
  /** Stop after this many tokens (BOS included). Default: all of the text. */
  maxTokens?: number;
  /**
   * Take sequences round-robin over the documents (the first of every document, then the
   * second, ...) so that maxTokens samples the whole text rather than its first documents.
   */
  spread?: boolean;
  /** Tokens per sequence, BOS included. Default min(256, n_ctx). */
  seqLen?: number;
  /** Storage type of the states. Default float32. */
  dtype?: ExtractDtype;
  /**
   * Sequences per forward pass. Default 8. A streamed model takes as many more as its memory
   * budget holds (each forward reads every block from disk once), or fewer when 8 do not fit.
   */
  batchSize?: number;
  /**
   * Worker threads running the forward passes, each with its own copy of the model (0 or 1: in
   * the calling thread). Default 1; the CLI defaults to one per core, at most 2.
   */
  workers?: number;
  /**
   * Store sublayer points instead of the hidden states, e.g. "resid_mid,resid_post"
   * (see lib/extract/points.ts). Default: the n_layers + 1 hidden states.
   */
  points?: string;
  /** Hub revision when `model` is a hub id. */
  revision?: string;
  /**
   * Memory budget for the model, bytes or a size such as "4G" (default: three quarters of the
   * memory available at start), shared equally by the workers. A model that does not fit half
   * of it streams its weights block by block (lib/models/stream/).
   */
  memory?: number | string;
  /** Force whole or streamed runs (default "auto", see `memory`). */
  run?: RunMode;
  /**
   * Write only shard I of N, "I/N" counted from 0: a contiguous share of the sequences the same
   * call without it writes (lib/extract/shard.ts). The N shard datasets together hold exactly
   * those sequences; `HiddenStateDataset.open([...dirs])` reads them as one dataset.
   */
  shard?: string;
  /** Stop cleanly before the next batch when aborted (Ctrl-C in the CLI). */
  signal?: AbortSignal;
  /** Stop after this many batches in this run (tests use it to simulate an interruption). */
  maxBatches?: number;
  onProgress?: (p: ExtractProgress) => void;
  onDownload?: (p: DownloadProgress) => void;
  /** One-line notices, e.g. that the lock of a writer that is gone was taken over. */
  onNotice?: (message: string) => void;
}

/** What an `extract` run wrote: samples and tokens in total and in this run, completeness and speed. */
export interface ExtractResult {
  /** The dataset folder. */
  out: string;
  /** Samples and tokens in the dataset after this run. */
  samples: number;
  tokens: number;
  /** Samples written by this run (0 when the dataset was already complete). */
  samplesThisRun: number;
  tokensThisRun: number;
  /** True when all sequences are written and the dataset is finished. */
  complete: boolean;
  /** With `shard`: which share of the run the dataset holds. */
  shard?: ShardInfo;
  /** Seconds spent in this run's batches, and the resulting tokens/s. */
  seconds: number;
  tokensPerSecond: number;
  /** True when the model streamed its weights block by block. */
  streamed: boolean;
}

const DEFAULT_SEQ_LEN = 256;
const DEFAULT_BATCH = 8;

/**
 * Worker threads for a run: `asked`, except 1 when the model would stream under a worker's share
 * of the budget. Each worker of a streamed model reads and converts every block for its own
 * forwards on one BLAS thread, while one forward of many sequences on every BLAS thread reads
 * each block once: a Llama-2-7B shape with 1,024 tokens gave the second worker nothing to do.
 */
function workersFor(dir: string, asked: number, budget: number, run: RunMode | undefined): number {
  if (asked < 2 || run === "whole") return asked;
  try {
    return planModel(openCheckpoint(dir), Math.floor(budget / asked), run ?? "auto").mode === "streamed" ? 1 : asked;
  } catch {
    return 1; // not even one block fits a worker's share: the whole budget in this thread may hold it
  }
}

/** Validate the options; messages name the options (the CLI turns them into its flags). */
function checkOptions(opts: ExtractOptions): void {
  const dtype = opts.dtype ?? "float32";
  if (dtype !== "float16" && dtype !== "float32") {
    throw new Error(`extract: 'dtype' must be float16 or float32, got '${dtype}'`);
  }
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`extract: '${name}' must be a positive integer, got ${v}`);
  };
  positive("maxTokens", opts.maxTokens);
  positive("seqLen", opts.seqLen);
  positive("batchSize", opts.batchSize);
  if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 0)) {
    throw new Error(`extract: 'workers' must be a non-negative integer, got ${opts.workers}`);
  }
  if (opts.maxBatches !== undefined && (!Number.isInteger(opts.maxBatches) || opts.maxBatches < 0)) {
    throw new Error(`extract: 'maxBatches' must be a non-negative integer, got ${opts.maxBatches}`);
  }
}

/** Name stored in the dataset for a model argument: the hub id, or the folder's name. */
function modelName(arg: string, dir: string): string {
  return arg === dir || path.resolve(arg) === dir ? path.basename(dir) : arg;
}

/** Extract hidden states (see the file comment). Returns what the dataset holds afterwards. */
export async function extract(opts: ExtractOptions): Promise<ExtractResult> {
  checkOptions(opts);
  const shardSpec = opts.shard === undefined ? undefined : parseShard(opts.shard);
  const points = opts.points === undefined ? undefined : parsePoints(opts.points);
  const dtype = opts.dtype ?? "float32";
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  // The output: a new or empty folder, or a dataset of this project (to resume, checked below);
  // never the model, the text, or inside a dataset or model folder.
  const guardOpts = { kind: "folder", flag: "'out'", forceFlag: null, ownFolder: isWriterFolder } as const;
  guardOutput(opts.out, { ...guardOpts, reads: [opts.model, opts.text] });
  const docs = loadTextSource(opts.text);
  const dir = await resolveModel(opts.model, { revision: opts.revision, onProgress: opts.onDownload });
  guardOutput(opts.out, { ...guardOpts, reads: [opts.model, opts.text, dir] });
  const budget = opts.memory === undefined ? defaultMemoryBudget() : parseMemorySize(opts.memory, "extract: 'memory'");
  // The forward passes: in this thread, or on worker threads that each open the model under
  // their share of the budget.
  const workers = workersFor(dir, opts.workers ?? 1, budget, opts.run);
  let model: OpenedModel | undefined;
  let pool: ForwardPool | undefined;
  let cfg: DecoderConfig;
  let lock: OutputLock | undefined;
  if (workers >= 2) {
    pool = await ForwardPool.start(dir, workers, points, { memory: Math.floor(budget / workers), run: opts.run });
    cfg = pool.config;
  } else {
    model = openLocalModel(dir, { memory: budget, run: opts.run });
    cfg = model.config;
  }
  try {
    const seqLen = sequenceLength(cfg, opts.seqLen, DEFAULT_SEQ_LEN, "extract: 'seqLen'");
    let tokenizer: TextTokenizer;
    if (model !== undefined) tokenizer = model.tokenizer;
    else {
      tokenizer = loadTokenizer(dir, cfg);
      checkVocabulary(tokenizer, cfg, dir);
    }
    const plan = model?.plan ?? pool!.plan;
    const streamed = plan.mode === "streamed";

    const settings: ExtractionSettings = {
      model: opts.model,
      text: opts.text,
      seq_len: seqLen,
      max_tokens: opts.maxTokens ?? null,
      spread: opts.spread ?? false,
      dtype,
      tokenizer: tokenizer.kind,
      bos_token_id: tokenizer.bosTokenId ?? null,
      revision: path.resolve(opts.model) === dir ? null : (opts.revision ?? "main"),
      weights: modelFingerprint(dir),
      points: points?.join(",") ?? null,
    };
    const layout = points === undefined ? undefined : pointStates(cfg.n_layers, points);
    // Streamed: as many sequences per forward as the budget holds (each forward reads every block once).
    const perForward = sequencesPerForward(plan, cfg, seqLen, batchSize, layout?.names.length ?? cfg.n_layers + 1);
    // Refused arguments leave nothing behind: the first sequence is cut before the folder is made.
    checkFirstSequence(docs, tokenizer, seqLen, opts);
    // A shard counts the run's sequences first (and refuses more shards than sequences).
    const cut = { seqLen, maxTokens: opts.maxTokens, spread: opts.spread };
    const shard = shardSpec === undefined ? undefined : planShard(cutSequences(docs, tokenizer, cut), shardSpec);
    // One writer per dataset: a second extract into the same folder stops here.
    lock = acquireOutputLock(opts.out, "extract");
    if (lock.tookOver !== undefined) opts.onNotice?.(lock.tookOver);
    const existing = checkResumable(opts.out, settings, shardSpec);
    if (existing?.complete) {
      // Same settings, already finished: nothing to do.
      return {
        out: opts.out, samples: existing.n_samples, tokens: existing.n_tokens,
        samplesThisRun: 0, tokensThisRun: 0, complete: true, seconds: 0, tokensPerSecond: 0, streamed,
        ...(existing.shard !== undefined ? { shard: existing.shard } : {}),
      };
    }
    if (shard !== undefined && existing?.shard !== undefined && JSON.stringify(existing.shard) !== JSON.stringify(shard)) {
      const was = existing.shard;
      throw new Error(
        `${opts.out} was started as shard ${was.index}/${was.count} of ${was.total_samples} sequences (${was.total_tokens} tokens), ` +
          `but the text now gives ${shard.total_samples} (${shard.total_tokens} tokens); the text or tokenizer changed; use a new 'out'`,
      );
    }
    const writer = HiddenStateWriter.open(opts.out, {
      model: {
        name: modelName(opts.model, dir),
        family: cfg.family,
        n_layers: cfg.n_layers,
        d_model: cfg.d_model,
        d_vocab: cfg.d_vocab,
        source: opts.model,
      },
      dtype,
      extra: { extraction: settings },
      stateNames: layout?.names,
      shard,
    });
    const inThread = model;
    // In this thread, float16 states are encoded as the forward makes them: no float32 copy.
    const toFloat16 = async (batch: readonly Sequence[]): Promise<Float16Batch> => {
      const into = writer.float16Batch(batch.reduce((n, s) => n + s.tokenIds.length, 0));
      await forwardBatch(inThread!, batch, layout, into);
      return into;
    };
    const encodesItself = pool === undefined && dtype === "float16";
    const run: BatchRunner =
      pool !== undefined
        ? (batch, reuse) => pool!.run(batch.map((s) => s.tokenIds), reuse)
        : encodesItself
          ? toFloat16
          : (batch, reuse) => batchStates(inThread!, batch, layout, reuse);
    const all = cutSequences(docs, tokenizer, cut);
    const sequences = shard === undefined ? all : shardSequences(all, shard);
    const result = { ...(await runBatches(run, Math.max(1, workers), writer, sequences, { ...opts, seqLen, batchSize: perForward, shard, encodesItself })), streamed };
    return shard === undefined ? result : { ...result, shard };
  } finally {
    lock?.release();
    model?.dispose();
    await pool?.close();
  }
}

/**
 * Refuse settings that give no sequence before anything is written: a seq-len or max-tokens that
 * leaves no room after BOS, or a text that gives no tokens.
 */
function checkFirstSequence(docs: ReturnType<typeof loadTextSource>, tokenizer: TextTokenizer, seqLen: number, opts: ExtractOptions): void {
  const reserved = tokenizer.bosTokenId === undefined ? 0 : 1;
  if (seqLen <= reserved) {
    throw new Error(`extract: 'seqLen' ${seqLen} leaves no room for a token after BOS; give at least ${reserved + 1}`);
  }
  if (opts.maxTokens !== undefined && opts.maxTokens <= reserved) {
    throw new Error(`extract: 'maxTokens' ${opts.maxTokens} leaves no room for a token after BOS; give at least ${reserved + 1}`);
  }
  if (cutSequences(docs, tokenizer, { seqLen, maxTokens: opts.maxTokens, spread: opts.spread }).next().done) {
    throw new Error(`text: ${opts.text} gives no tokens; there is nothing to extract`);
  }
}

/**
 * The stored states of one batch (see batchStates), computed in this thread or on a worker, into
 * the buffers of `reuse` (an earlier batch's states, written and done with) where they fit.
 */
type BatchRunner = (batch: readonly Sequence[], reuse?: Float32Array[]) => Promise<Float32Array[] | Float16Batch>;

/**
 * Cut the text into batches, run them with up to `depth` batches in flight (one per worker) and
 * append the results to the dataset in order.
 */
async function runBatches(
  run: BatchRunner,
  depth: number,
  writer: HiddenStateWriter,
  sequences: Iterator<Sequence>,
  opts: Omit<ExtractOptions, "shard"> & { seqLen: number; batchSize: number; shard?: ShardInfo; encodesItself?: boolean },
): Promise<Omit<ExtractResult, "streamed">> {
  // What this run fills: the shard's tokens, or --max-tokens (for the progress bar's total).
  const totalTokens = opts.shard?.n_tokens ?? opts.maxTokens;

  // Skip what an earlier run committed; each sequence must equal the stored one token for token
  // (a same-length edit of the text would otherwise pass), and the token count must agree.
  const done = writer.committedSamples;
  const stored = done > 0 ? storedSequenceIds(opts.out) : undefined;
  let skippedTokens = 0;
  for (let i = 0; i < done; i++) {
    const next = sequences.next();
    if (next.done) break;
    const diff = firstDifference(stored!.next().value as Int32Array, next.value.tokenIds);
    if (diff !== undefined) {
      throw new Error(
        `${opts.out}: sequence ${i} differs from the one stored (${diff}); the text or tokenizer changed since the dataset was started; use a new --out`,
      );
    }
    skippedTokens += next.value.tokenIds.length;
  }
  if (skippedTokens !== writer.committedTokens) {
    throw new Error(
      `${opts.out} holds ${writer.committedSamples} sequences of ${writer.committedTokens} tokens, but this text and ` +
        `tokenizer give ${skippedTokens} tokens for them; the dataset was written with other settings (use a new 'out')`,
    );
  }

  let tokens = writer.committedTokens;
  let samples = writer.committedSamples;
  let tokensThisRun = 0;
  let samplesThisRun = 0;
  let batches = 0;
  let seconds = 0;
  const started = Date.now();
  const report = (): void =>
    opts.onProgress?.({ tokens, samples, totalTokens, tokensThisRun, seconds: (Date.now() - started) / 1000 });
  report();

  // Batches handed out and not yet written, oldest first.
  const inFlight: { batch: Sequence[]; states: Promise<Float32Array[] | Float16Batch> }[] = [];
  // States already written: their buffers take the next batch's states (no fresh pages per batch).
  const spare: Float32Array[][] = [];
  // The shard being written: its files are fsynced on libuv's pool (HiddenStateWriter.appendAsync)
  // while the next batch's forward runs; shards still go to disk one at a time and in order.
  let writing: Promise<void> = Promise.resolve();
  const commitOldest = async (): Promise<void> => {
    const { batch, states } = inFlight.shift()!;
    const written = await states;
    await writing;
    writing = writer
      .appendAsync(batch.map((s) => ({ tokenIds: s.tokenIds, text: s.text, tags: s.tags, source: s.source })), written)
      .then(() => {
        if (writer.holdsStatesWhileWriting && !(written instanceof Float16Batch)) spare.push(written);
        const n = batch.reduce((k, s) => k + s.tokenIds.length, 0);
        tokens += n;
        tokensThisRun += n;
        samples += batch.length;
        samplesThisRun += batch.length;
        seconds = (Date.now() - started) / 1000;
        report();
      });
    writing.catch(() => undefined); // awaited by the next commit or after the loop; this only marks it handled
    // Float16 states were encoded before appendAsync returned: their buffers take the next batch.
    if (!writer.holdsStatesWhileWriting && !(written instanceof Float16Batch)) spare.push(written);
  };

  let exhausted = false;
  for (;;) {
    // Let the event loop run between batches: tfjs's awaits resolve as microtasks, so without
    // this a signal handler (Ctrl-C) would not run until the whole extraction had finished. Two
    // turns: a signal that arrived during this turn is read in the next turn's poll phase.
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    if (opts.signal?.aborted || (opts.maxBatches !== undefined && batches >= opts.maxBatches)) break;
    const batch: Sequence[] = [];
    while (batch.length < opts.batchSize) {
      const next = sequences.next();
      if (next.done) break;
      batch.push(next.value);
    }
    if (batch.length === 0) {
      exhausted = true;
      break;
    }
    // The writer's float16 buffers for this batch are faulted in while its forward runs (a
    // runner that encodes itself gets its buffer from writer.float16Batch).
    if (opts.encodesItself !== true) writer.reserve(batch.reduce((n, s) => n + s.tokenIds.length, 0) * writer.dModel);
    const states = run(batch, spare.pop());
    states.catch(() => undefined); // awaited in order by commitOldest; this only marks it handled
    inFlight.push({ batch, states });
    batches++;
    if (inFlight.length >= depth) await commitOldest();
  }
  // Batches already running are finished and written, also after Ctrl-C (at most one per worker).
  while (inFlight.length > 0) await commitOldest();
  await writing;
  if (samples === 0 && exhausted) {
    throw new Error(`text: ${opts.text} gives no tokens; there is nothing to extract`);
  }
  if (exhausted) writer.finish();
  seconds = (Date.now() - started) / 1000;
  return {
    out: opts.out,
    samples,
    tokens,
    samplesThisRun,
    tokensThisRun,
    complete: exhausted,
    seconds,
    tokensPerSecond: seconds > 0 ? tokensThisRun / seconds : 0,
  };
}
