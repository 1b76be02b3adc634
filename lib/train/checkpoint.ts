/**
 * Training checkpoints: a Hugging Face-style model folder (config.json + model.safetensors, so
 * `linearity extract` can load any checkpoint) plus what `--resume` needs to continue exactly:
 * the optimizer's moments (optimizer.safetensors) and the step, data-sampler RNG state, tokens
 * seen and elapsed time (trainer_state.json).
 *
 * Layout under the run's output folder:
 *   checkpoints/step-000500/{config.json, model.safetensors, optimizer.safetensors, trainer_state.json}
 *   snapshots/step-000100/{config.json, model.safetensors, training.json}   (weights only, kept)
 *
 * A checkpoint is written into a temporary folder beside its final name and renamed into place
 * when complete, so a crash or Ctrl-C mid-write never leaves a half-written checkpoint behind.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { removeStaleTemps, writeFileAtomic } from "../io/atomic";
import { writeFolderAtomic } from "../io/atomic-folder";
import { readJsonFile } from "../io/json";
import { readSafetensors, writeSafetensors, type SafetensorsInput } from "../io/safetensors";
import { saveCheckpoint } from "../models/save";
import type { StateDict } from "../models/types";
import type { AdamWState } from "../optim/adamw";
import type { CurveRow } from "./curve";

/** Everything besides tensors that `--resume` needs. */
export interface TrainerState {
  format: "linearity-train-state";
  version: 1;
  /** Updates applied so far. */
  step: number;
  /** State of the batch sampler's RNG after `step` updates. */
  dataRngState: number;
  /** Target tokens trained on so far. */
  tokensSeen: number;
  /** Wall-clock seconds of training so far (summed over resumed sessions). */
  seconds: number;
  /** Sum and count of training losses since the last learning-curve row (the row's train_loss). */
  intervalLossSum: number;
  intervalSteps: number;
  /** Runs with --reg: sum of the unweighted regularizer over the same steps (absent otherwise). */
  intervalRegSum?: number;
  /** The options of the run (so a resume checks they still agree). */
  options: Record<string, unknown>;
  /** The learning curve so far at full precision (the CSV rounds); absent in older checkpoints. */
  curve?: CurveRow[];
}

const STEP_DIR = /^step-(\d+)$/;

/** Folder name of a step, zero-padded so names sort by step. */
export function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

/** Write a full training checkpoint (float32 weights, optimizer moments, trainer state). */
export function saveTrainingCheckpoint(
  dir: string,
  hfConfig: Record<string, unknown>,
  weights: StateDict,
  optimizer: AdamWState,
  state: TrainerState,
): void {
  writeFolderAtomic(dir, (tmp) => {
    saveCheckpoint(tmp, { ...hfConfig, torch_dtype: "float32" }, weights, "float32");
    const moments: Record<string, SafetensorsInput> = {};
    for (const [name, m] of Object.entries(optimizer.m)) moments[`m.${name}`] = { dtype: "F32", shape: [m.length], data: m };
    for (const [name, v] of Object.entries(optimizer.v)) moments[`v.${name}`] = { dtype: "F32", shape: [v.length], data: v };
    writeSafetensors(path.join(tmp, "optimizer.safetensors"), moments, { step: String(optimizer.step) });
    writeFileAtomic(path.join(tmp, "trainer_state.json"), JSON.stringify(state, null, 2) + "\n");
  });
}

/** Write a weights-only model folder (for snapshots and the final model) plus a training.json note. */
export function saveModelFolder(
  dir: string,
  hfConfig: Record<string, unknown>,
  weights: StateDict,
  dtype: "float32" | "float16",
  training: Record<string, unknown>,
): void {
  writeFolderAtomic(dir, (tmp) => {
    saveCheckpoint(tmp, { ...hfConfig, torch_dtype: dtype }, weights, dtype);
    writeFileAtomic(path.join(tmp, "training.json"), JSON.stringify(training, null, 2) + "\n");
  });
}

/** Complete checkpoints under `checkpointsDir`, oldest first. */
export function listCheckpoints(checkpointsDir: string): { step: number; dir: string }[] {
  if (!fs.existsSync(checkpointsDir)) return [];
  return fs
    .readdirSync(checkpointsDir)
    .map((name) => ({ m: STEP_DIR.exec(name), dir: path.join(checkpointsDir, name) }))
    .filter((x) => x.m !== null && fs.existsSync(path.join(x.dir, "trainer_state.json")))
    .map((x) => ({ step: Number(x.m![1]), dir: x.dir }))
    .sort((a, b) => a.step - b.step);
}

/**
 * Delete all but the newest `keep` checkpoints (keep <= 0 keeps all), and the temp folders of
 * killed writers (`.step-NNNNNN.tmp-PID`), which would otherwise hold a full checkpoint each.
 */
export function pruneCheckpoints(checkpointsDir: string, keep: number): void {
  removeStaleTemps(checkpointsDir);
  if (keep <= 0) return;
  const all = listCheckpoints(checkpointsDir);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(c.dir, { recursive: true, force: true });
}

/** What {@link loadTrainingCheckpoint} returns. Tensors are new; the caller disposes them. */
export interface LoadedCheckpoint {
  weights: StateDict;
  optimizer: AdamWState;
  state: TrainerState;
}

/** Read a checkpoint written by {@link saveTrainingCheckpoint}. */
export function loadTrainingCheckpoint(dir: string): LoadedCheckpoint {
  const statePath = path.join(dir, "trainer_state.json");
  let state: TrainerState;
  try {
    state = readJsonFile(statePath) as TrainerState;
  } catch (err) {
    // readJsonFile's message starts with the path already; keep its cause (no file bytes quoted).
    throw new Error(`${statePath}: cannot read the trainer state (${(err as Error).message.split("\n")[0].replace(`${statePath}: `, "")})`);
  }
  if (state.format !== "linearity-train-state" || state.version !== 1) {
    throw new Error(`${statePath}: not a linearity training state (format ${JSON.stringify(state.format)}, version ${JSON.stringify(state.version)})`);
  }
  const model = readSafetensors(path.join(dir, "model.safetensors"));
  const weights: StateDict = {};
  for (const name of model.names) {
    const t = model.tensors[name];
    weights[name] = tf.tensor(t.data, t.shape, "float32");
  }
  const opt = readSafetensors(path.join(dir, "optimizer.safetensors"));
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const name of opt.names) {
    const table = name.startsWith("m.") ? m : name.startsWith("v.") ? v : undefined;
    if (table === undefined) throw new Error(`${opt.path}: unexpected tensor '${name}' (expected m.* and v.*)`);
    table[name.slice(2)] = opt.tensors[name].data;
  }
  const step = Number(opt.metadata?.step ?? state.step);
  return { weights, optimizer: { step, m, v }, state };
}


