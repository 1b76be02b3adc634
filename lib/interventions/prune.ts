/**
 * `linearity prune`: measure every block on calibration text, choose K blocks by a rule
 * (select.ts), remove them or replace them by fitted affine maps (replace.ts), and write the
 * result as a model folder (pruned-folder.ts) that eval, extract and the notebooks load.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { acquireOutputLock } from "../io/lock";
import { guardOutput, realPathOf } from "../io/output-guard";
import { resolveModel } from "../hub/hub";
import { openLocalModel, sequenceLength, type OpenedModel } from "../models/open";
import type { SaveDtype } from "../models/save";
import { sequencesPerForward, type RunMode } from "../models/stream/plan";
import { DEFAULT_EVAL_BATCH, evaluationIds, textSourcesOverlap } from "./evaluate";
import { PRUNE_FIELD } from "./pruned-config";
import { writePrunedFolder } from "./pruned-folder";
import { fitLinearBlocks, measureBlocks, REPLACE_MODES, type BlockChange, type FittedBlock, type ReplaceMode } from "./replace";
import { SELECT_RULES, selectBlocks, type BlockStats, type Selection, type SelectRule } from "./select";

/** Default calibration text: the Brown train split (evaluation defaults to the held-out split). */
export const DEFAULT_CALIBRATE_TEXT = "corpus:brown:train";
/** Default calibration tokens, BOS included. */
export const DEFAULT_CALIBRATE_TOKENS = 16384;

/** Options of `prune` (the `linearity prune` command). See docs/interventions.md. */
export interface PruneOptions {
  /** Local model folder or hub id. */
  model: string;
  /** Number of blocks to change (K). */
  blocks: number;
  select: SelectRule;
  replace: ReplaceMode;
  /** Calibration text (default corpus:brown:train). */
  calibrate?: string;
  calibrateTokens?: number;
  /** Tokens per calibration sequence, BOS included; default min(256, n_ctx). */
  seqLen?: number;
  batchSize?: number;
  /**
   * Output folder: new, empty, or an earlier `prune` result (replaced whole); any other existing
   * folder only with `force`. Never the source folder, inside it, or inside a dataset/model folder.
   */
  out: string;
  /** Replace an existing `out` that prune did not write. */
  force?: boolean;
  /** Weight dtype of the output (default F32). */
  dtype?: SaveDtype;
  revision?: string;
  /** Memory budget, bytes or a size such as "4G" (see openModel; default: 3/4 of the available memory). */
  memory?: number | string;
  /** Force whole or streamed runs (default "auto"). */
  run?: RunMode;
  /** Text the result will be evaluated on: refused when it overlaps the calibration text. */
  evalText?: string;
  onStage?: (message: string) => void;
}

/** What `prune` did: the block statistics, the selection, the fitted blocks, the folder and config written, the calibration tokens. */
export interface PruneResult {
  readonly stats: BlockStats;
  readonly selection: Selection;
  /** Linear fits (replace linear), in fitting order, with their calibration R^2. */
  readonly fits: FittedBlock[];
  readonly out: string;
  /** The written config.json. */
  readonly config: Record<string, unknown>;
  readonly calibrationTokens: number;
  /** True when the model streamed its weights block by block. */
  readonly streamed: boolean;
}

/** Run the whole command (see the file comment). */
export async function prune(opts: PruneOptions): Promise<PruneResult> {
  if (!(SELECT_RULES as readonly string[]).includes(opts.select)) {
    throw new Error(`--select must be one of ${SELECT_RULES.join(", ")}, got '${opts.select}'`);
  }
  if (!REPLACE_MODES.includes(opts.replace)) throw new Error(`--replace must be one of ${REPLACE_MODES.join(", ")}, got '${opts.replace}'`);
  const calibrate = opts.calibrate ?? DEFAULT_CALIBRATE_TEXT;
  if (opts.evalText !== undefined && textSourcesOverlap(calibrate, opts.evalText)) {
    throw new Error(`--calibrate ${calibrate} overlaps the evaluation text ${opts.evalText}; calibrate on other tokens than you evaluate on`);
  }
  const requestedBatch = opts.batchSize ?? DEFAULT_EVAL_BATCH;
  // The output is checked (and locked) before the model is loaded and calibrated.
  const guardOpts = { kind: "folder" as const, flag: "--out", force: opts.force, ownFolder: isPruneOutput } as const;
  guardOutput(opts.out, { ...guardOpts, reads: [opts.model, calibrate] });
  const dir = await resolveModel(opts.model, { revision: opts.revision });
  const out = guardOutput(opts.out, { ...guardOpts, reads: [dir, opts.model, calibrate] }).path;
  const lock = acquireOutputLock(out, "prune");
  if (lock.tookOver !== undefined) opts.onStage?.(lock.tookOver);
  let model: OpenedModel;
  try {
    model = openLocalModel(dir, { memory: opts.memory, run: opts.run });
  } catch (err) {
    lock.release();
    throw err;
  }
  try {
    const cfg = model.config;
    if (opts.replace === "remove" && opts.blocks >= cfg.n_layers) {
      throw new Error(`--blocks ${opts.blocks} with --replace remove would remove every block of this ${cfg.n_layers}-block model; at most ${cfg.n_layers - 1}`);
    }
    if (opts.blocks > cfg.n_layers) {
      throw new Error(`--blocks must be an integer from 1 to ${cfg.n_layers} (the model's blocks), got ${opts.blocks}`);
    }
    const seqLen = sequenceLength(cfg, opts.seqLen, 256, "--seq-len");
    const ids = evaluationIds(calibrate, model.tokenizer, seqLen, opts.calibrateTokens ?? DEFAULT_CALIBRATE_TOKENS, "--calibrate-tokens");
    const tokens = ids.sequences * ids.seqLen;
    // n centred states span at most n - 1 dimensions: with n <= d_model + 1 a d_model x d_model
    // map fits every block exactly (each scores 1.000000) and the selection means nothing.
    if (tokens <= cfg.d_model + 1) {
      throw new Error(
        `--calibrate-tokens: ${tokens} calibration tokens cannot rank the blocks of a d_model ${cfg.d_model} model (any ${cfg.d_model} x ${cfg.d_model} map fits ${cfg.d_model + 1} or fewer tokens exactly); give at least ${cfg.d_model + 2}, better several times d_model`,
      );
    }
    if (tokens < 4 * cfg.d_model) {
      opts.onStage?.(`warning: ${tokens} calibration tokens for d_model ${cfg.d_model}: the block scores are biased towards 1 (expect about d_model / (tokens - 1) = ${(cfg.d_model / (tokens - 1)).toFixed(3)} of linearity by chance); use several times d_model`);
    }

    // 1. Per-block statistics of the unchanged model on the calibration text, and the choice.
    opts.onStage?.(`measuring ${cfg.n_layers} blocks on ${tokens} calibration tokens of ${calibrate}`);
    // Streamed: as many sequences per forward as the budget holds (each reads every block once).
    const batchSize = sequencesPerForward(model.plan, cfg, seqLen, requestedBatch, 2 * (cfg.n_layers + 1));
    let stats: BlockStats;
    try {
      stats = measureBlocks(model, ids, batchSize);
    } catch (err) {
      // Name the model: "the output of block 1 (residual 2) has NaN ..." alone does not say whose.
      if (err instanceof Error && err.message.includes("the model computes non-finite values")) err.message = `${opts.model}: ${err.message}`;
      throw err;
    }
    const selection = selectBlocks(opts.select, stats, opts.blocks);

    // 2. The changes: skip the blocks, or fit affine maps one block after another.
    let changes: Map<number, BlockChange>;
    let fits: FittedBlock[] = [];
    if (opts.replace === "remove") {
      changes = new Map(selection.blocks.map((l) => [l, { kind: "remove" } as BlockChange]));
    } else {
      ({ changes, fits } = fitLinearBlocks(model, ids, selection.blocks, batchSize, new Map(), (f) =>
        opts.onStage?.(`fitted block ${f.block} (calibration R^2 ${f.r2.toFixed(6)})`)));
    }

    // 3. The new folder.
    const config = writePrunedFolder(dir, changes, {
      source: opts.model, source_n_layers: cfg.n_layers, select: opts.select, replace: opts.replace,
      blocks: selection.blocks, scores: selection.scores, score_name: selection.scoreName,
      calibrate, ...(calibrate.startsWith("corpus:") ? {} : { calibrate_path: realPathOf(calibrate) }), calibrate_tokens: tokens, seq_len: ids.seqLen,
    }, out, opts.dtype);
    return { stats, selection, fits, out: opts.out, config, calibrationTokens: tokens, streamed: model.streamed };
  } finally {
    model.dispose();
    lock.release();
  }
}

/** True for a folder an earlier `prune` wrote (its config.json carries linearity_prune). */
function isPruneOutput(dir: string): boolean {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))?.[PRUNE_FIELD] !== undefined;
  } catch {
    return false;
  }
}
