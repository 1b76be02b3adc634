/**
 * The data of notebooks/06-block-replacement.ipynb: held-out loss of a model with K = 0..n_layers-1
 * blocks removed or replaced by fitted affine maps, for each selection rule, plus the per-block
 * statistics the rules read. The same computation as `linearity prune` followed by
 * `linearity eval`, done in memory (no folders) so the model and the texts load once.
 *
 *   npx tsx scripts/block-replacement-sweep.ts [--model data-samples/model]
 *       [--out data-samples/block-replacement.json] [--calibrate-tokens 8192] [--eval-tokens 8192] [--seq-len 128]
 *
 * Calibration on corpus:brown:train, evaluation on corpus:brown:heldout (never the same tokens).
 */
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { writeFileAtomic } from "../lib/io/atomic";
import { evaluationIds, nextTokenLoss } from "../lib/interventions/evaluate";
import { blockFunctions, fitLinearBlocks, measureBlocks, type BlockChange, type ReplaceMode } from "../lib/interventions/replace";
import { SELECT_RULES, selectBlocks } from "../lib/interventions/select";
import { loadModel } from "../lib/models/load";
import { loadTokenizer } from "../lib/tokenizer";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  await initBackend();
  const modelDir = flag("--model", "data-samples/model");
  const outFile = flag("--out", "data-samples/block-replacement.json");
  const calibrateTokens = Number(flag("--calibrate-tokens", "8192"));
  const evalTokens = Number(flag("--eval-tokens", "8192"));
  const seqLen = Number(flag("--seq-len", "128"));
  const batch = 8;
  const started = Date.now();
  const log = (m: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${m}\n`);

  const model = loadModel(modelDir);
  const cfg = model.config;
  const tokenizer = loadTokenizer(modelDir, cfg);
  const calib = evaluationIds("corpus:brown:train", tokenizer, seqLen, calibrateTokens);
  const held = evaluationIds("corpus:brown:heldout", tokenizer, seqLen, evalTokens);
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

  // Each (blocks, mode) is computed once even when several rules choose the same blocks.
  const cache = new Map<string, { loss: number; r2?: number[] }>();
  const results: { rule: string; replace: ReplaceMode; k: number; blocks: number[]; natsPerToken: number; fitR2?: number[] }[] = [];
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
        results.push({ rule, replace, k, blocks, natsPerToken: r.loss, ...(r.r2 ? { fitR2: r.r2 } : {}) });
      }
    }
  }
  model.dispose();

  const round = (v: number) => Number(v.toPrecision(7));
  const json = {
    about: "Held-out loss (nats/token) with K blocks removed or replaced by fitted affine maps; written by scripts/block-replacement-sweep.ts",
    model: modelDir,
    n_layers: cfg.n_layers,
    calibrate: { text: "corpus:brown:train", tokens: calib.sequences * seqLen, seq_len: seqLen },
    evaluate: { text: "corpus:brown:heldout", tokens: held.sequences * seqLen, predicted: held.sequences * (seqLen - 1), seq_len: seqLen },
    baseline_nats_per_token: round(baseline),
    stats: {
      linearity: stats.linearity.map(round),
      block_influence: stats.blockInfluence.map(round),
      angular: stats.angular.map((row) => row.map((v) => (Number.isFinite(v) ? round(v) : null))),
    },
    results: results.map((r) => ({ ...r, natsPerToken: round(r.natsPerToken), ...(r.fitR2 ? { fitR2: r.fitR2.map(round) } : {}) })),
    seconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileAtomic(outFile, JSON.stringify(json, null, 1) + "\n");
  log(`wrote ${path.resolve(outFile)}`);
}

main().catch((err) => {
  process.stderr.write(`block-replacement-sweep: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
