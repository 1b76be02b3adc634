/**
 * The whole block-replacement experiment in one pass (the data of notebook 06): held-out loss of
 * a model with K = 1..n_layers-1 blocks removed or replaced by fitted affine maps, for each
 * selection rule, plus the per-block statistics the rules read. The same computation as
 * `linearity prune` followed by `linearity eval`, in memory: the model and the texts load once,
 * and a set of blocks several rules choose is computed once. Calibration and evaluation texts
 * must not overlap.
 */
import * as fs from "node:fs";
import { openModel, sequenceLength } from "../models/open";
import { sequencesPerForward, type RunMode } from "../models/stream/plan";
import { evaluationIds, nextTokenLoss, textSourcesOverlap } from "./evaluate";
import { blockFunctions, fitLinearBlocks, measureBlocks, type BlockChange, type ReplaceMode } from "./replace";
import { SELECT_RULES, selectBlocks, type SelectRule } from "./select";

/** Options of `blockReplacementSweep`: the model, calibration and evaluation texts and token budgets, batching, a log callback. */
export interface SweepOptions {
  model: string;
  calibrate?: string;
  evaluate?: string;
  calibrateTokens?: number;
  evalTokens?: number;
  seqLen?: number;
  batchSize?: number;
  /** Memory budget, bytes or a size such as "4G" (see openModel; default: 3/4 of the available memory). */
  memory?: number | string;
  /** Force whole or streamed runs (default "auto"). */
  run?: RunMode;
  onLog?: (message: string) => void;
}

/** One (rule, replacement, K) point. */
export interface SweepPoint {
  rule: SelectRule;
  replace: ReplaceMode;
  k: number;
  /** Changed blocks, ascending. */
  blocks: number[];
  natsPerToken: number;
  /** Calibration R^2 of each linear fit, in fitting order (replace = linear). */
  fitR2?: number[];
}

/** What the sweep writes (data-samples/block-replacement.json). */
export interface SweepResult {
  about: string;
  model: string;
  n_layers: number;
  calibrate: { text: string; tokens: number; seq_len: number };
  evaluate: { text: string; tokens: number; predicted: number; seq_len: number };
  baseline_nats_per_token: number;
  /** Per block: linearity, block influence; angular[s][t] (null where s >= t). */
  stats: { linearity: number[]; block_influence: number[]; angular: (number | null)[][] };
  results: SweepPoint[];
  seconds: number;
}

const round = (v: number) => Number(v.toPrecision(7));

/** Run the sweep (see the file comment). */
export async function blockReplacementSweep(opts: SweepOptions): Promise<SweepResult> {
  const calibrateText = opts.calibrate ?? "corpus:brown:train";
  const evalText = opts.evaluate ?? "corpus:brown:heldout";
  if (textSourcesOverlap(calibrateText, evalText)) throw new Error(`calibration text ${calibrateText} overlaps the evaluation text ${evalText}`);
  const requestedSeqLen = opts.seqLen ?? 128;
  const requestedBatch = opts.batchSize ?? 8;
  const started = Date.now();
  const log = (m: string) => opts.onLog?.(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${m}`);

  const model = await openModel(opts.model, { memory: opts.memory, run: opts.run });
  try {
    const cfg = model.config;
    const seqLen = sequenceLength(cfg, requestedSeqLen, 128, "'seqLen'");
    // Streamed: as many sequences per forward as the budget holds (logits on top for the losses).
    const batch = sequencesPerForward(model.plan, cfg, seqLen, requestedBatch, 2 * (cfg.n_layers + 1), 16 * cfg.d_vocab);
    const tokenizer = model.tokenizer;
    const calib = evaluationIds(calibrateText, tokenizer, seqLen, opts.calibrateTokens ?? 8192);
    const held = evaluationIds(evalText, tokenizer, seqLen, opts.evalTokens ?? 8192);
    const loss = (changes: ReadonlyMap<number, BlockChange>) => {
      const { override, dispose } = blockFunctions(changes, cfg.d_model);
      try {
        return nextTokenLoss(model, held, batch, override).natsPerToken;
      } finally {
        dispose();
      }
    };

    log(`measuring ${cfg.n_layers} blocks on ${calib.sequences * seqLen} calibration tokens`);
    const stats = measureBlocks(model, calib, batch);
    const baseline = loss(new Map());
    log(`baseline held-out loss ${baseline.toFixed(4)} nats/token`);

    const cache = new Map<string, { loss: number; r2?: number[] }>();
    const results: SweepPoint[] = [];
    for (const rule of SELECT_RULES) {
      for (let k = 1; k < cfg.n_layers; k++) {
        const { blocks } = selectBlocks(rule, stats, k);
        for (const replace of ["remove", "linear"] as const) {
          const key = `${replace}:${blocks.join(",")}`;
          let r = cache.get(key);
          if (r === undefined) {
            if (replace === "remove") {
              r = { loss: loss(new Map(blocks.map((l) => [l, { kind: "remove" } as BlockChange]))) };
            } else {
              const { changes, fits } = fitLinearBlocks(model, calib, blocks, batch);
              r = { loss: loss(changes), r2: fits.map((f) => f.r2) };
            }
            cache.set(key, r);
            log(`${rule} K=${k} ${replace} blocks [${blocks}] -> ${r.loss.toFixed(4)}`);
          }
          results.push({ rule, replace, k, blocks, natsPerToken: round(r.loss), ...(r.r2 ? { fitR2: r.r2.map(round) } : {}) });
        }
      }
    }
    return {
      about: "Held-out loss (nats/token) with K blocks removed or replaced by fitted affine maps; written by scripts/block-replacement-sweep.ts",
      model: opts.model,
      n_layers: cfg.n_layers,
      calibrate: { text: calibrateText, tokens: calib.sequences * seqLen, seq_len: seqLen },
      evaluate: { text: evalText, tokens: held.sequences * seqLen, predicted: held.sequences * (seqLen - 1), seq_len: seqLen },
      baseline_nats_per_token: round(baseline),
      stats: {
        linearity: stats.linearity.map(round),
        block_influence: stats.blockInfluence.map(round),
        angular: stats.angular.map((row) => row.map((v) => (Number.isFinite(v) ? round(v) : null))),
      },
      results,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    model.dispose();
  }
}

/** Read a sweep file written by scripts/block-replacement-sweep.ts, with a one-line error if it is not one. */
export function readSweep(file: string): SweepResult {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: cannot read a sweep file (${(err as Error).message})`);
  }
  const r = json as Partial<SweepResult>;
  if (typeof r !== "object" || r === null || !Array.isArray(r.results) || typeof r.n_layers !== "number" || typeof r.baseline_nats_per_token !== "number" || !r.stats) {
    throw new Error(`${file}: not a block-replacement sweep (expected n_layers, baseline_nats_per_token, stats and results)`);
  }
  return r as SweepResult;
}
