/**
 * The training loop of `linearity train`: AdamW on next-byte cross-entropy, with periodic
 * validation, resumable checkpoints, kept snapshots and a final model folder.
 *
 * Determinism: initial weights and batches come from two seeded generators (lib/train/random),
 * the schedule is a function of the step, and the wasm/cpu backends compute in a fixed order,
 * so a run is reproducible, and a run resumed from a checkpoint takes the same steps as one that
 * never stopped (checkpoints keep float32 weights, both Adam moments and the sampler's state).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { ensureGradients } from "../models/common/gradients";
import { idsTensor } from "../models/common/ids";
import { llamaForward } from "../models/llama/forward";
import { removeStaleTemps, writeFileAtomic } from "../io/atomic";
import { mkdirp } from "../io/errors";
import { acquireOutputLock } from "../io/lock";
import { guardOutput } from "../io/output-guard";
import { AdamW } from "../optim/adamw";
import {
  listCheckpoints,
  loadTrainingCheckpoint,
  pruneCheckpoints,
  saveModelFolder,
  saveTrainingCheckpoint,
  stepDirName,
  type TrainerState,
} from "./checkpoint";
import { readCurve, writeCurve, type CurveRow } from "./curve";
import { byteStream, evalWindows, randomBatch } from "./data";
import { evaluateLoss, evaluateLossAndRegularizer } from "./evaluate";
import { crossEntropy } from "./loss";
import {
  BYTE_BOS,
  initialStateDict,
  llamaHfConfig,
  stateDictOf,
  trainableFromStateDict,
  trainedModelConfig,
  type ModelSizes,
} from "./model";
import { checkTrainOptions, TRAJECTORY_OPTIONS, withRegDefaults, type TrainOptions } from "./options";
import { Rng } from "./random";
import { consecutiveStateRegularizer, residualStates } from "./regularizer";
import { learningRate } from "./schedule";
import { byteCounts, natsToBitsPerByte, unigramLoss, unigramProbabilities } from "./unigram";

/** The texts a run trains and validates on. */
export interface TrainTexts {
  train: readonly string[];
  heldout: readonly string[];
}

/** Reported after every step. */
export interface StepInfo {
  step: number;
  steps: number;
  /** Language-model loss of this step (without the regularizer). */
  loss: number;
  /** Unweighted regularizer R of this step, in runs with --reg. */
  reg?: number;
  lr: number;
  /** Target tokens per second over this session's steps. */
  tokensPerSecond: number;
  /** Latest validation loss, if any yet. */
  valLoss?: number;
}

export interface TrainHooks {
  onStep?(info: StepInfo): void;
  /** One-line messages (resume notices, where files went). */
  onMessage?(message: string): void;
  /** Polled between steps; returning true saves a checkpoint and stops (Ctrl-C). */
  shouldStop?(): boolean;
}

/** What a run ends with. Losses in nats/token (= nats/byte here). */
export interface TrainResult {
  step: number;
  interrupted: boolean;
  tokensSeen: number;
  seconds: number;
  tokensPerSecond: number;
  finalTrainLoss?: number;
  finalValLoss?: number;
  /** Runs with --reg: R (unweighted), mean of the last curve interval and on the validation windows. */
  finalTrainReg?: number;
  finalValReg?: number;
  unigramValLoss: number;
  /** On finalEvalSequences windows spread over all the held-out text, and how many tokens that was. */
  heldoutAllLoss?: number;
  unigramHeldoutAllLoss?: number;
  heldoutAllTokens?: number;
  /** Runs with --reg: R on the finalEvalSequences windows. */
  heldoutAllReg?: number;
  parameters: number;
}

/** File names inside the output folder. */
export const RUN_FILES = {
  checkpoints: "checkpoints",
  snapshots: "snapshots",
  model: "model",
  curve: "learning-curve.csv",
  summary: "summary.json",
} as const;

function pick(o: TrainOptions, keys: readonly (keyof TrainOptions)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = o[k];
  return out;
}

/** True for a folder a `train` run wrote (its checkpoints, curve, summary or final model). */
export function isTrainRunFolder(dir: string): boolean {
  return [RUN_FILES.checkpoints, RUN_FILES.curve, RUN_FILES.summary, RUN_FILES.snapshots].some((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * Run (or resume) training. `resume`: continue from the newest checkpoint under `opts.out`.
 * `force`: write into an existing non-empty folder that no train run wrote. The output folder is
 * checked (io/output-guard.ts) and locked (io/lock.ts) for the whole run.
 */
export async function train(
  opts: TrainOptions,
  texts: TrainTexts,
  { resume = false, force = false, hooks = {} }: { resume?: boolean; force?: boolean; hooks?: TrainHooks } = {},
): Promise<TrainResult> {
  checkTrainOptions(opts);
  guardOutput(opts.out, { kind: "folder", flag: "'out'", force, ownFolder: isTrainRunFolder });
  const lock = acquireOutputLock(opts.out, "train");
  if (lock.tookOver !== undefined) hooks.onMessage?.(lock.tookOver);
  try {
    return await trainLocked(opts, texts, resume, hooks);
  } finally {
    lock.release();
  }
}

async function trainLocked(opts: TrainOptions, texts: TrainTexts, resume: boolean, hooks: TrainHooks): Promise<TrainResult> {
  ensureGradients();
  const say = (m: string) => hooks.onMessage?.(m);
  const sizes: ModelSizes = { ...opts.model, n_ctx: opts.seqLen };
  const hfConfig = llamaHfConfig(sizes);
  const cfg = trainedModelConfig(sizes);
  const checkpointsDir = path.join(opts.out, RUN_FILES.checkpoints);
  const curvePath = path.join(opts.out, RUN_FILES.curve);

  // Data: byte streams, fixed validation windows and the unigram baseline on the same targets.
  const trainStream = byteStream(texts.train);
  const heldoutStream = byteStream(texts.heldout);
  const valWindows = evalWindows(heldoutStream, opts.seqLen, BYTE_BOS, opts.evalSequences);
  const unigram = unigramProbabilities(byteCounts(trainStream));
  const unigramValLoss = unigramLoss(unigram, valWindows.targets);

  // Start fresh, or restore weights, optimizer and sampler from the newest checkpoint.
  const existing = listCheckpoints(checkpointsDir);
  if (!resume && existing.length > 0) {
    throw new Error(`train: ${opts.out} already has checkpoints (newest step ${existing[existing.length - 1].step}); pass 'resume' to continue it, or choose another 'out'`);
  }
  let step = 0;
  let dataRng = new Rng((opts.seed ^ 0x5eed) >>> 0);
  let tokensSeen = 0;
  let secondsBefore = 0;
  let curve: CurveRow[] = [];
  let lossSum = 0; // training losses since the last curve row
  let lossCount = 0;
  let regSum = 0; // unweighted regularizer values since the last curve row (runs with --reg)
  let trainable;
  let optimizerState;
  if (resume && existing.length > 0) {
    const latest = existing[existing.length - 1];
    const loaded = loadTrainingCheckpoint(latest.dir);
    const saved = pick(withRegDefaults(loaded.state.options) as unknown as TrainOptions, TRAJECTORY_OPTIONS);
    const now = pick(opts, TRAJECTORY_OPTIONS);
    for (const k of TRAJECTORY_OPTIONS) {
      if (JSON.stringify(saved[k]) !== JSON.stringify(now[k])) {
        throw new Error(`train: cannot resume ${latest.dir}: it was trained with ${k}=${JSON.stringify(saved[k])}, this run asks for ${JSON.stringify(now[k])}`);
      }
    }
    trainable = trainableFromStateDict(cfg, loaded.weights);
    for (const t of Object.values(loaded.weights)) t.dispose();
    optimizerState = loaded.optimizer;
    step = loaded.state.step;
    dataRng = Rng.fromState(loaded.state.dataRngState);
    tokensSeen = loaded.state.tokensSeen;
    secondsBefore = loaded.state.seconds;
    // Full precision from the checkpoint; the CSV (rounded) only for checkpoints that lack it.
    curve = loaded.state.curve ?? readCurve(curvePath).filter((r) => r.step <= step);
    lossSum = loaded.state.intervalLossSum;
    lossCount = loaded.state.intervalSteps;
    regSum = loaded.state.intervalRegSum ?? 0;
    say(`resuming from ${latest.dir} (step ${step} of ${opts.steps})`);
  } else {
    if (resume) say(`no checkpoint under ${checkpointsDir}; starting from step 0`);
    const init = initialStateDict(sizes, new Rng(opts.seed));
    trainable = trainableFromStateDict(cfg, init);
    for (const t of Object.values(init)) t.dispose();
  }
  mkdirp(opts.out);
  // Temp folders and files of a killed earlier run (checkpoints, snapshots, model/, the curve).
  for (const dir of [opts.out, checkpointsDir, path.join(opts.out, RUN_FILES.snapshots)]) removeStaleTemps(dir);
  const { params, variables } = trainable;
  const parameters = variables.reduce((n, v) => n + v.variable.size, 0);
  const optimizer = new AdamW(variables, { weightDecay: opts.weightDecay, beta1: opts.beta1, beta2: opts.beta2 });
  if (optimizerState !== undefined) optimizer.setState(optimizerState);
  const varList = variables.map((v) => v.variable);

  const sessionStart = Date.now();
  let sessionTokens = 0;
  const seconds = () => secondsBefore + (Date.now() - sessionStart) / 1000;
  const trainingNote = (extra: Record<string, unknown> = {}) => ({
    step, tokens_seen: tokensSeen, seq_len: opts.seqLen, batch_size: opts.batchSize, corpus: opts.corpus, ...extra,
  });
  const withWeights = (fn: (sd: ReturnType<typeof stateDictOf>) => void) => {
    const sd = stateDictOf(cfg, params);
    try {
      fn(sd);
    } finally {
      for (const t of Object.values(sd)) t.dispose();
    }
  };
  const saveResumable = () => {
    const state: TrainerState = {
      format: "linearity-train-state", version: 1, step, dataRngState: dataRng.state, tokensSeen,
      seconds: seconds(), intervalLossSum: lossSum, intervalSteps: lossCount,
      ...(withReg ? { intervalRegSum: regSum } : {}),
      options: opts as unknown as Record<string, unknown>, curve,
    };
    withWeights((sd) => saveTrainingCheckpoint(path.join(checkpointsDir, stepDirName(step)), hfConfig, sd, optimizer.getState(), state));
    pruneCheckpoints(checkpointsDir, opts.keepCheckpoints);
  };
  const snapshotIfAsked = (note: Record<string, unknown>) => {
    if (!opts.snapshotSteps.includes(step)) return;
    const dir = path.join(opts.out, RUN_FILES.snapshots, stepDirName(step));
    withWeights((sd) => saveModelFolder(dir, hfConfig, sd, opts.snapshotDtype, trainingNote(note)));
  };
  const evalChunk = Math.max(1, opts.batchSize);
  const withReg = opts.reg !== "none";
  const lastCheckpointNote = () => {
    const saved = listCheckpoints(checkpointsDir);
    return saved.length === 0 ? "no checkpoint yet" : `last checkpoint: ${saved[saved.length - 1].dir}`;
  };

  if (step === 0) snapshotIfAsked({ val_loss: evaluateLoss(cfg, params, valWindows, evalChunk) });

  let lastLoss = NaN;
  let lastReg = NaN;
  let lastVal = curve.length > 0 ? curve[curve.length - 1].val_loss : undefined;
  let interrupted = false;
  while (step < opts.steps) {
    if (hooks.shouldStop?.()) {
      interrupted = true;
      break;
    }
    // One step: sample a batch, forward + backward, clip, AdamW update.
    const batch = randomBatch(trainStream, dataRng, opts.batchSize, opts.seqLen, BYTE_BOS);
    const lr = learningRate(step + 1, { lr: opts.lr, minLr: opts.minLr, warmup: opts.warmup, steps: opts.steps });
    let lmLoss: tf.Scalar | undefined; // kept out of the tidy scopes, disposed below
    let regValue: tf.Scalar | undefined;
    // Set when this step's loss or gradient is not finite: the update is then not applied.
    let badGradient: { loss: number; gradNormSq: number } | undefined;
    const loss = tf.tidy(() => {
      const ids = idsTensor(cfg.d_vocab, batch.ids, [batch.batch, batch.pos]);
      const targets = tf.tensor2d(batch.targets, [batch.batch, batch.pos], "int32");
      const { value, grads } = tf.variableGrads(() => {
        const out = llamaForward(cfg, params, ids, { logits: true });
        if (opts.reg === "none") return crossEntropy(out.logits!, targets);
        // Loss = LM + lambda * R; both parts are kept to be logged apart.
        lmLoss = tf.keep(crossEntropy(out.logits!, targets));
        regValue = tf.keep(consecutiveStateRegularizer(opts.reg, residualStates(out)));
        return tf.add(lmLoss, tf.mul(regValue, opts.regWeight)) as tf.Scalar;
      }, varList);
      let gradList = variables.map((v) => grads[v.variable.name]);
      // The squared gradient norm (for clipping, and to refuse a non-finite gradient before it
      // reaches the weights) and the loss, read together.
      const [lossValue, normSq] = tf.stack([value, tf.addN(gradList.map((g) => tf.sum(tf.square(g))))]).dataSync();
      if (!Number.isFinite(lossValue) || !Number.isFinite(normSq)) {
        badGradient = { loss: lossValue, gradNormSq: normSq };
        return value;
      }
      const norm = Math.sqrt(normSq);
      if (opts.gradClip > 0 && norm > opts.gradClip) gradList = gradList.map((g) => tf.mul(g, opts.gradClip / norm));
      optimizer.step(gradList, lr);
      return value;
    });
    lastLoss = loss.dataSync()[0];
    loss.dispose();
    if (lmLoss !== undefined && regValue !== undefined) {
      lastLoss = (lmLoss as tf.Scalar).dataSync()[0];
      lastReg = (regValue as tf.Scalar).dataSync()[0];
      tf.dispose([lmLoss, regValue]);
    }
    if (badGradient !== undefined) {
      const { loss: total, gradNormSq } = badGradient as { loss: number; gradNormSq: number };
      const what = !Number.isFinite(total) ? `the loss became ${total}` : `the gradient's squared norm became ${gradNormSq}`;
      const term = Math.fround(opts.regWeight) * lastReg;
      const parts = withReg ? ` (LM loss ${lastLoss}, regularizer term ${opts.regWeight} x R = ${opts.regWeight} x ${lastReg} = ${term})` : "";
      // The regularizer is the cause when its term is the non-finite or the dominant part.
      const blameReg = withReg && (!Number.isFinite(term) || !Number.isFinite(lastReg) || (Number.isFinite(lastLoss) && Math.abs(term) > Math.abs(lastLoss)));
      const advice = blameReg
        ? `the regularizer term (${opts.regWeight} x R = ${term}) dominates; lower 'regWeight'`
        : "lower 'lr' or raise 'warmup'";
      throw new Error(`train: ${what} at step ${step + 1}${blameReg ? "" : parts}; the update was not applied and nothing of this step was saved; ${advice} (${lastCheckpointNote()})`);
    }
    const bad = nonFiniteWeights(variables);
    if (bad !== undefined) {
      throw new Error(
        `train: ${bad.count.toLocaleString("en-US")} weights became NaN or infinite in the update of step ${step + 1} (first in '${bad.first}'); nothing of this step was saved; lower 'lr' or raise 'warmup' (${lastCheckpointNote()})`,
      );
    }
    step += 1;
    tokensSeen += batch.batch * batch.pos;
    sessionTokens += batch.batch * batch.pos;
    lossSum += lastLoss;
    if (withReg) regSum += lastReg;
    lossCount += 1;

    // Validation row of the learning curve, snapshots and checkpoints.
    const isLast = step === opts.steps;
    let val: number | undefined;
    if (step % opts.evalEvery === 0 || isLast) {
      const evaluated = evaluateLossAndRegularizer(cfg, params, valWindows, evalChunk, opts.reg);
      val = evaluated.loss;
      lastVal = val;
      const row: CurveRow = { step, lr, train_loss: lossSum / lossCount, val_loss: val, tokens: tokensSeen, seconds: seconds() };
      if (withReg) {
        row.train_reg = regSum / lossCount;
        row.val_reg = evaluated.reg;
      }
      curve.push(row);
      writeCurve(curvePath, curve);
      lossSum = 0;
      regSum = 0;
      lossCount = 0;
    }
    snapshotIfAsked({ train_loss: lastLoss, val_loss: val ?? evaluateLoss(cfg, params, valWindows, evalChunk) });
    if (step % opts.checkpointEvery === 0 || isLast) saveResumable();
    const elapsed = (Date.now() - sessionStart) / 1000;
    hooks.onStep?.({ step, steps: opts.steps, loss: lastLoss, ...(withReg ? { reg: lastReg } : {}), lr, tokensPerSecond: sessionTokens / Math.max(elapsed, 1e-9), valLoss: lastVal });
    // Let signal handlers (Ctrl-C) run between steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (interrupted && listCheckpoints(checkpointsDir).every((c) => c.step !== step)) saveResumable();

  const sessionSeconds = (Date.now() - sessionStart) / 1000;
  const result: TrainResult = {
    step, interrupted, tokensSeen, seconds: seconds(),
    tokensPerSecond: sessionTokens / Math.max(sessionSeconds, 1e-9),
    finalTrainLoss: curve.length > 0 ? curve[curve.length - 1].train_loss : undefined,
    finalValLoss: lastVal, unigramValLoss, parameters,
  };
  if (withReg && curve.length > 0) {
    result.finalTrainReg = curve[curve.length - 1].train_reg;
    result.finalValReg = curve[curve.length - 1].val_reg;
  }
  if (!interrupted) {
    if (opts.finalEvalSequences > 0) {
      const all = evalWindows(heldoutStream, opts.seqLen, BYTE_BOS, opts.finalEvalSequences);
      const evaluated = evaluateLossAndRegularizer(cfg, params, all, evalChunk, opts.reg);
      result.heldoutAllLoss = evaluated.loss;
      result.heldoutAllReg = evaluated.reg;
      result.unigramHeldoutAllLoss = unigramLoss(unigram, all.targets);
      result.heldoutAllTokens = all.targets.length;
    }
    const note = trainingNote({
      train_loss: result.finalTrainLoss, val_loss: result.finalValLoss, unigram_val_loss: unigramValLoss,
      heldout_all_loss: result.heldoutAllLoss,
      ...(withReg ? { reg: opts.reg, reg_weight: opts.regWeight, train_reg: result.finalTrainReg, val_reg: result.finalValReg, heldout_all_reg: result.heldoutAllReg } : {}),
    });
    withWeights((sd) => saveModelFolder(path.join(opts.out, RUN_FILES.model), hfConfig, sd, opts.finalDtype, note));
    writeFileAtomic(path.join(opts.out, RUN_FILES.summary), JSON.stringify(summaryOf(result, opts), null, 2) + "\n");
  }
  optimizer.dispose();
  for (const v of varList) v.dispose();
  return result;
}

/** How many weights are not finite, and the first tensor holding one; undefined when all are finite. */
function nonFiniteWeights(variables: readonly { name: string; variable: tf.Variable }[]): { count: number; first: string } | undefined {
  const counts = Array.from(tf.tidy(() => tf.stack(variables.map((v) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(v.variable)), "int32")))).dataSync()));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  return { count: total, first: variables[counts.findIndex((c) => c > 0)].name };
}

/** The run's summary.json: results in nats/token and bits/byte, with the options used. */
function summaryOf(r: TrainResult, opts: TrainOptions): Record<string, unknown> {
  const both = (nats: number | undefined) =>
    nats === undefined ? null : { nats_per_token: nats, bits_per_byte: natsToBitsPerByte(nats) };
  return {
    steps: r.step,
    tokens_seen: r.tokensSeen,
    seconds: r.seconds,
    tokens_per_second_last_session: r.tokensPerSecond,
    parameters: r.parameters,
    train_loss_last_interval: both(r.finalTrainLoss),
    val_loss: both(r.finalValLoss),
    unigram_val_loss: both(r.unigramValLoss),
    heldout_all_loss: both(r.heldoutAllLoss),
    unigram_heldout_all_loss: both(r.unigramHeldoutAllLoss),
    heldout_all_tokens: r.heldoutAllTokens ?? null,
    ...(opts.reg !== "none"
      ? {
          regularizer: {
            kind: opts.reg, weight: opts.regWeight,
            train_last_interval: r.finalTrainReg ?? null, val: r.finalValReg ?? null, heldout_all: r.heldoutAllReg ?? null,
          },
        }
      : {}),
    backend: tf.getBackend(),
    options: opts,
  };
}
