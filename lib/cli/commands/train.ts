import * as path from "node:path";
import type { Command } from "commander";
import { SingleBar } from "cli-progress";
import { initBackend } from "../../backend";
import { brownSplit, loadBrown } from "../../corpus/brown";
import { train, type TrainTexts } from "../../train/loop";
import { checkSizes } from "../../train/model";
import { checkTrainOptions, DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../../train/options";
import { natsToBitsPerByte } from "../../train/unigram";
import { intFlag, intListFlag, numberFlag } from "../flags";

/** The texts of a corpus name (only the Brown Corpus is built in). */
function corpusTexts(corpus: string): TrainTexts {
  if (corpus !== "brown") throw new Error(`train: --corpus '${corpus}' is not known (available: brown)`);
  const docs = loadBrown();
  return { train: brownSplit(docs, "train").map((d) => d.text), heldout: brownSplit(docs, "heldout").map((d) => d.text) };
}

const fmt = (x: number | undefined, digits = 3) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits));

/**
 * `linearity train --corpus brown --out DIR [...]`: train the project's byte-level Llama-style
 * model with AdamW (lib/train). Ctrl-C (SIGINT) or SIGTERM saves a checkpoint and exits with
 * status 130 or 143 (128 + the signal's number); `--resume` continues from the newest checkpoint.
 */
export function registerTrain(program: Command): void {
  const d = DEFAULT_TRAIN_OPTIONS;
  program
    .command("train")
    .description("train a small byte-level Llama-style model on the Brown Corpus (AdamW, resumable)")
    .requiredOption("--out <dir>", "output folder: checkpoints/, snapshots/, model/, learning-curve.csv, summary.json (new, empty or an earlier run's; one train at a time)")
    .option("--corpus <name>", "training text (train split; validation on the held-out split)", d.corpus)
    .option("--n-layers <n>", "transformer blocks", intFlag("--n-layers"), d.model.n_layers)
    .option("--d-model <n>", "residual stream width", intFlag("--d-model"), d.model.d_model)
    .option("--n-heads <n>", "attention heads", intFlag("--n-heads"), d.model.n_heads)
    .option("--n-kv-heads <n>", "key/value heads (grouped-query attention when < n-heads)", intFlag("--n-kv-heads"))
    .option("--d-mlp <n>", "SwiGLU hidden width", intFlag("--d-mlp"), d.model.d_mlp)
    .option("--tie-embeddings", "tie the output projection to the token embedding", d.model.tie_word_embeddings)
    .option("--seq-len <n>", "tokens per sequence (BOS + bytes); also max_position_embeddings", intFlag("--seq-len"), d.seqLen)
    .option("--batch-size <n>", "sequences per step", intFlag("--batch-size"), d.batchSize)
    .option("--steps <n>", "optimizer steps", intFlag("--steps"), d.steps)
    .option("--lr <x>", "peak learning rate", numberFlag("--lr"), d.lr)
    .option("--min-lr <x>", "learning rate at the last step (cosine decay)", numberFlag("--min-lr"), d.minLr)
    .option("--warmup <n>", "linear warm-up steps", intFlag("--warmup"), d.warmup)
    .option("--weight-decay <x>", "AdamW decoupled weight decay (matrices only)", numberFlag("--weight-decay"), d.weightDecay)
    .option("--beta1 <x>", "AdamW beta1", numberFlag("--beta1"), d.beta1)
    .option("--beta2 <x>", "AdamW beta2", numberFlag("--beta2"), d.beta2)
    .option("--grad-clip <x>", "clip the global gradient norm (0: off)", numberFlag("--grad-clip"), d.gradClip)
    .option("--seed <n>", "seed of the initial weights and of batch sampling", intFlag("--seed"), d.seed)
    .option("--eval-every <n>", "steps between validation losses", intFlag("--eval-every"), d.evalEvery)
    .option("--eval-sequences <n>", "held-out windows in each validation", intFlag("--eval-sequences"), d.evalSequences)
    .option("--checkpoint-every <n>", "steps between resumable checkpoints", intFlag("--checkpoint-every"), d.checkpointEvery)
    .option("--keep-checkpoints <n>", "resumable checkpoints kept (0: all)", intFlag("--keep-checkpoints"), d.keepCheckpoints)
    .option("--snapshot-steps <list>", "comma-separated steps whose weights are kept in snapshots/ (0 = initial weights)", intListFlag("--snapshot-steps"), d.snapshotSteps)
    .option("--snapshot-dtype <dtype>", "float16 or float32", d.snapshotDtype)
    .option("--final-dtype <dtype>", "dtype of model/ (float16 or float32)", d.finalDtype)
    .option("--final-eval-sequences <n>", "held-out windows (spread over all the held-out text) in the final validation; 0: skip", intFlag("--final-eval-sequences"), d.finalEvalSequences)
    .option("--reg <kind>", "consecutive-state regularizer added to the loss: none, cosine (1 - cos), mse (squared distance, summed over d_model, the paper's formula as printed) or mse-mean (averaged over d_model, as torch's F.mse_loss); summed over blocks (docs/training.md)", d.reg)
    .option("--reg-weight <x>", `lambda: loss = LM + lambda * regularizer (default ${d.regWeight}; needs --reg)`, numberFlag("--reg-weight"))
    .option("--resume", "continue from the newest checkpoint in --out")
    .option("--force", "write into an existing non-empty --out that no train run wrote")
    .action(async (o: Record<string, unknown>) => {
      const opts: TrainOptions = {
        out: path.resolve(o.out as string),
        corpus: o.corpus as string,
        model: {
          n_layers: o.nLayers as number,
          d_model: o.dModel as number,
          n_heads: o.nHeads as number,
          n_kv_heads: (o.nKvHeads as number | undefined) ?? (o.nHeads as number),
          d_mlp: o.dMlp as number,
          rope_theta: d.model.rope_theta,
          norm_eps: d.model.norm_eps,
          tie_word_embeddings: Boolean(o.tieEmbeddings),
        },
        seqLen: o.seqLen as number,
        batchSize: o.batchSize as number,
        steps: o.steps as number,
        lr: o.lr as number,
        minLr: o.minLr as number,
        warmup: o.warmup as number,
        weightDecay: o.weightDecay as number,
        beta1: o.beta1 as number,
        beta2: o.beta2 as number,
        gradClip: o.gradClip as number,
        seed: o.seed as number,
        evalEvery: o.evalEvery as number,
        evalSequences: o.evalSequences as number,
        checkpointEvery: o.checkpointEvery as number,
        keepCheckpoints: o.keepCheckpoints as number,
        snapshotSteps: o.snapshotSteps as number[],
        snapshotDtype: o.snapshotDtype as TrainOptions["snapshotDtype"],
        finalDtype: o.finalDtype as TrainOptions["finalDtype"],
        finalEvalSequences: o.finalEvalSequences as number,
        reg: o.reg as TrainOptions["reg"],
        regWeight: (o.regWeight as number | undefined) ?? d.regWeight,
      };
      if (o.regWeight !== undefined && opts.reg === "none") {
        throw new Error("train: --reg-weight has no effect without --reg cosine, mse or mse-mean");
      }
      // Check every option before the corpus is read (seconds), so mistakes fail at once.
      checkTrainOptions(opts);
      checkSizes({ ...opts.model, n_ctx: opts.seqLen });
      const texts = corpusTexts(opts.corpus);
      await initBackend();

      // Ctrl-C or SIGTERM (a scheduler's stop): finish the current step, save a checkpoint, exit
      // 130 / 143. A second signal exits at once (checkpoint writes are atomic, so nothing already
      // saved is damaged).
      let stopRequested = false;
      let stopCode = 130;
      const onSignal = (signal: NodeJS.Signals) => {
        stopCode = signal === "SIGTERM" ? 143 : 130;
        if (stopRequested) process.exit(stopCode);
        stopRequested = true;
        process.stderr.write(`\nlinearity train: ${signal === "SIGTERM" ? "terminated" : "interrupted"}; saving a checkpoint (Ctrl-C again to quit now)\n`);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const bar = new SingleBar({
        stream: process.stderr,
        format: `train |{bar}| {value}/{total} steps | loss {loss}${opts.reg === "none" ? "" : ` | ${opts.reg} {reg}`} | val {val} | {tps} tok/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
        // Logs of background runs (stderr not a terminal) get a progress line every 30 s.
        noTTYOutput: true,
        notTTYSchedule: 30_000,
      });
      let started = false;
      try {
        const result = await train(opts, texts, {
          resume: Boolean(o.resume),
          force: Boolean(o.force),
          hooks: {
            shouldStop: () => stopRequested,
            onMessage: (m) => process.stderr.write(`linearity train: ${m}\n`),
            onStep: (s) => {
              const payload = { loss: fmt(s.loss), reg: fmt(s.reg), val: fmt(s.valLoss), tps: s.tokensPerSecond.toFixed(0) };
              if (!started) {
                bar.start(s.steps, s.step - 1, payload);
                started = true;
              }
              bar.update(s.step, payload);
            },
          },
        });
        bar.stop();
        if (result.interrupted) {
          process.stderr.write(`linearity train: stopped at step ${result.step}; checkpoint saved under ${path.join(opts.out, "checkpoints")}; continue with --resume\n`);
          process.exitCode = stopCode;
          return;
        }
        const both = (x: number | undefined) => (x === undefined ? "-" : `${x.toFixed(4)} nats/token = ${natsToBitsPerByte(x).toFixed(4)} bits/byte`);
        process.stdout.write(
          [
            `trained ${result.step} steps, ${result.tokensSeen} tokens, ${result.seconds.toFixed(0)} s (${result.tokensPerSecond.toFixed(0)} tokens/s this session), ${result.parameters} parameters`,
            `train loss (last interval): ${both(result.finalTrainLoss)}`,
            `validation loss:            ${both(result.finalValLoss)}`,
            ...(opts.reg !== "none"
              ? [`${opts.reg} regularizer (unweighted, lambda ${opts.regWeight}): train ${fmt(result.finalTrainReg, 4)}, validation ${fmt(result.finalValReg, 4)}`]
              : []),
            `unigram on the same text:   ${both(result.unigramValLoss)}`,
            ...(result.heldoutAllLoss !== undefined
              ? [`${result.heldoutAllTokens} held-out tokens:  ${both(result.heldoutAllLoss)} (unigram ${both(result.unigramHeldoutAllLoss)})`]
              : []),
            `model: ${path.join(opts.out, "model")}`,
          ].join("\n") + "\n",
        );
      } finally {
        bar.stop();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
