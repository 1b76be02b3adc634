/**
 * Linearity during training (the paper's Figure 2) for the notebooks: run a saved checkpoint
 * over a few held-out tokens and score each consecutive pair of states, with and without the
 * residual, without writing a dataset to disk.
 */
import * as fs from "fs";
import * as path from "path";
import { batchStates } from "../extract/batch";
import { cutSequences, type Sequence } from "../extract/sequences";
import { loadTextSource } from "../extract/source";
import { openLocalModel, sequenceLength } from "../models/open";
import { sequencesPerForward, type RunMode } from "../models/stream/plan";
import { linearityMatrix } from "../metrics/linearity-matrix";
import type { StateChunk } from "../numerics/state-chunk";

/** Options of {@link checkpointLinearity}. */
export interface CheckpointLinearityOptions {
  /** Text to run: a file, or corpus:brown[:train|:heldout]. Default "corpus:brown:heldout". */
  text?: string;
  /** Tokens to use (BOS included), from the start of the text. Default 2048. */
  maxTokens?: number;
  /** Tokens per sequence, BOS included. Default min(128, n_ctx). */
  seqLen?: number;
  /** Sequences per forward pass. Default 8. */
  batchSize?: number;
  /** Memory budget, bytes or a size such as "4G" (see openModel; default: 3/4 of the available memory). */
  memory?: number | string;
  /** Force whole or streamed runs (default "auto"). */
  run?: RunMode;
}

/** Linearity of consecutive states of one checkpoint. */
export interface CheckpointLinearity {
  /** The checkpoint folder. */
  dir: string;
  /** From the folder's training.json when present. */
  step?: number;
  tokensSeen?: number;
  valLoss?: number;
  nTokens: number;
  /** [n_layers]: score of state l -> state l+1 */
  scores: number[];
  /** [n_layers]: score of state l against state l+1 - state l ("w/o residual") */
  residualScores: number[];
}

/**
 * Folders under `root` that hold a checkpoint (a config.json), sorted by name
 * (`step-000000`, `step-000015`, ...). Throws when there is none.
 */
export function listCheckpointDirs(root: string): string[] {
  if (!fs.existsSync(root)) throw new Error(`listCheckpointDirs: '${root}' does not exist`);
  const dirs = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(root, e.name, "config.json")))
    .map((e) => path.join(root, e.name))
    .sort();
  if (dirs.length === 0) throw new Error(`listCheckpointDirs: no checkpoint folder (with config.json) in '${root}'`);
  return dirs;
}

function readTrainingInfo(dir: string): { step?: number; tokensSeen?: number; valLoss?: number } {
  const file = path.join(dir, "training.json");
  if (!fs.existsSync(file)) return {};
  const info = JSON.parse(fs.readFileSync(file, "utf8")) as { step?: number; tokens_seen?: number; val_loss?: number };
  return { step: info.step, tokensSeen: info.tokens_seen, valLoss: info.val_loss };
}

/**
 * Load the checkpoint in `dir`, run it over the first `maxTokens` tokens of `text` and return
 * the score of every consecutive pair of states, with and without the residual, computed in one
 * streaming pass (lib/metrics' linearityMatrix) over the batches' states.
 */
export async function checkpointLinearity(dir: string, opts: CheckpointLinearityOptions = {}): Promise<CheckpointLinearity> {
  const maxTokens = opts.maxTokens ?? 2048;
  const batchSize = opts.batchSize ?? 8;
  for (const [name, v] of [["maxTokens", maxTokens], ["batchSize", batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`checkpointLinearity: '${name}' expected a positive integer, got ${v}`);
  }
  const model = openLocalModel(dir, { memory: opts.memory, run: opts.run });
  try {
    const cfg = model.config;
    const seqLen = sequenceLength(cfg, opts.seqLen, 128, "checkpointLinearity: 'seqLen'");
    const tokenizer = model.tokenizer;
    const sequences = [...cutSequences(loadTextSource(opts.text ?? "corpus:brown:heldout"), tokenizer, { seqLen, maxTokens })];
    // Forward passes batch by batch; each batch's states are one chunk of the streaming pass.
    const chunks: StateChunk[] = [];
    // Streamed: as many sequences per forward as the budget holds (each reads every block once).
    const perForward = sequencesPerForward(model.plan, cfg, seqLen, batchSize, cfg.n_layers + 1);
    for (let i = 0; i < sequences.length; i += perForward) {
      const batch: Sequence[] = sequences.slice(i, i + perForward);
      const states = await batchStates(model, batch);
      const rows = batch.reduce((n, s) => n + s.tokenIds.length, 0);
      chunks.push({ start: chunks.reduce((n, c) => n + c.rows, 0), rows, states });
    }
    const m = linearityMatrix(chunks, { residual: true });
    const blocks = Array.from({ length: cfg.n_layers }, (_, l) => l);
    return {
      dir,
      ...readTrainingInfo(dir),
      nTokens: m.nTokens,
      scores: blocks.map((l) => m.scores[l][l + 1]),
      residualScores: blocks.map((l) => m.residualScores![l][l + 1]),
    };
  } finally {
    model.dispose();
  }
}
