/** Options of a training run, their defaults, and their validation. */
import type { ModelSizes } from "./model";
import { REGULARIZERS, type RegularizerKind } from "./regularizer";

export interface TrainOptions {
  /** Output folder (checkpoints, snapshots, final model, learning curve). */
  out: string;
  /** Name of the text the model is trained on (recorded in the run's files), e.g. "brown". */
  corpus: string;
  /** Model sizes; n_ctx is set to seqLen. */
  model: Omit<ModelSizes, "n_ctx">;
  /** Tokens per sequence (BOS + pos-1 bytes as input, pos bytes as targets). */
  seqLen: number;
  /** Sequences per step. */
  batchSize: number;
  /** Optimizer steps of the whole run. */
  steps: number;
  /** Peak learning rate (after warm-up). */
  lr: number;
  /** Learning rate at the last step (cosine decay). */
  minLr: number;
  /** Linear warm-up steps. */
  warmup: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Clip the global gradient norm to this value (0: no clipping). */
  gradClip: number;
  seed: number;
  /** Steps between validation losses (rows of the learning curve). */
  evalEvery: number;
  /** Held-out windows used for the periodic validation loss. */
  evalSequences: number;
  /** Steps between resumable checkpoints. */
  checkpointEvery: number;
  /** Resumable checkpoints kept (oldest deleted first); 0 keeps all. */
  keepCheckpoints: number;
  /** Steps at which a weights-only snapshot is kept for good (0 = the initial weights). */
  snapshotSteps: number[];
  /** Dtype of snapshots. */
  snapshotDtype: "float16" | "float32";
  /** Dtype of the final model folder. */
  finalDtype: "float16" | "float32";
  /**
   * At the end, evaluate on this many held-out windows spread over the whole held-out text
   * (0: skip; more than the text holds: every window).
   */
  finalEvalSequences: number;
  /** Consecutive-state regularizer added to the loss (lib/train/regularizer); "none": plain LM loss. */
  reg: RegularizerKind;
  /** lambda: the loss is LM + regWeight * R (ignored when reg is "none"). */
  regWeight: number;
}

/**
 * Defaults: the configuration of the model in data-samples/ (which also sets --snapshot-steps
 * 0,50,200,500 and --final-dtype float16; see scripts/make-data-samples.sh).
 */
export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, "out"> = {
  corpus: "brown",
  model: {
    n_layers: 6,
    d_model: 128,
    n_heads: 4,
    n_kv_heads: 4,
    d_mlp: 256,
    rope_theta: 10000,
    norm_eps: 1e-5,
    tie_word_embeddings: false,
  },
  seqLen: 128,
  batchSize: 8,
  steps: 1000,
  lr: 3e-3,
  minLr: 3e-4,
  warmup: 30,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1,
  seed: 0,
  evalEvery: 50,
  evalSequences: 16,
  checkpointEvery: 50,
  keepCheckpoints: 2,
  snapshotSteps: [],
  snapshotDtype: "float16",
  finalDtype: "float32",
  finalEvalSequences: 256,
  reg: "none",
  regWeight: 0.5,
};

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Throw a one-line error naming the first invalid option. */
export function checkTrainOptions(o: TrainOptions): void {
  const ints: [string, number, number][] = [
    ["seqLen", o.seqLen, 2],
    ["batchSize", o.batchSize, 1],
    ["steps", o.steps, 1],
    ["warmup", o.warmup, 0],
    ["evalEvery", o.evalEvery, 1],
    ["evalSequences", o.evalSequences, 1],
    ["checkpointEvery", o.checkpointEvery, 1],
    ["keepCheckpoints", o.keepCheckpoints, 0],
    ["finalEvalSequences", o.finalEvalSequences, 0],
  ];
  for (const [name, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new Error(`train: '${name}' expected an integer >= ${min}, got ${v}`);
  }
  const nums: [string, number, number, number][] = [
    ["lr", o.lr, 0, Infinity],
    ["minLr", o.minLr, 0, Infinity],
    ["weightDecay", o.weightDecay, 0, Infinity],
    ["beta1", o.beta1, 0, 1],
    ["beta2", o.beta2, 0, 1],
    ["gradClip", o.gradClip, 0, Infinity],
    ["regWeight", o.regWeight, 0, Infinity],
  ];
  for (const [name, v, lo, hi] of nums) {
    if (!(v >= lo && v < hi)) throw new Error(`train: '${name}' expected a number in [${lo}, ${hi}), got ${v}`);
  }
  // The loss is float32: a larger lambda is Inf there, and Inf x R poisons every weight.
  if (o.regWeight > FLOAT32_MAX) {
    throw new Error(`train: 'regWeight' expected a number in [0, ${FLOAT32_MAX}] (float32), got ${o.regWeight}`);
  }
  if (!(o.lr > 0)) throw new Error(`train: 'lr' expected a number > 0, got ${o.lr}`);
  if (!Number.isInteger(o.seed)) throw new Error(`train: 'seed' expected an integer, got ${o.seed}`);
  for (const s of o.snapshotSteps) {
    if (!Number.isInteger(s) || s < 0 || s > o.steps) {
      throw new Error(`train: 'snapshotSteps' has ${s}; expected integers in 0..${o.steps} ('steps')`);
    }
  }
  if (!(REGULARIZERS as readonly string[]).includes(o.reg)) {
    throw new Error(`train: 'reg' expected one of ${REGULARIZERS.join(", ")}, got '${o.reg}'`);
  }
  for (const [name, v] of [["snapshotDtype", o.snapshotDtype], ["finalDtype", o.finalDtype]] as const) {
    if (v !== "float16" && v !== "float32") throw new Error(`train: '${name}' expected float16 or float32, got '${v}'`);
  }
}

/**
 * Options that change the trained weights; a resumed run must use the same values (the others,
 * such as how often to evaluate or checkpoint, may change between sessions).
 */
export const TRAJECTORY_OPTIONS: readonly (keyof TrainOptions)[] = [
  "corpus", "model", "seqLen", "batchSize", "steps", "lr", "minLr", "warmup", "weightDecay",
  "beta1", "beta2", "gradClip", "seed", "reg", "regWeight",
];

/**
 * The trajectory options of a run saved before `--reg` existed lack reg and regWeight: such a
 * run trained without a regularizer.
 */
export function withRegDefaults(saved: Record<string, unknown>): Record<string, unknown> {
  return { reg: DEFAULT_TRAIN_OPTIONS.reg, regWeight: DEFAULT_TRAIN_OPTIONS.regWeight, ...saved };
}
