/** The tiny training run shared by the loop and regularizer tests: seconds on one core. */
import * as path from "node:path";
import { readSafetensors } from "../../lib/io/safetensors";
import type { TrainTexts } from "../../lib/train/loop";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../../lib/train/options";

/** A 2-block, 16-wide model trained for 6 steps, with checkpoints every 2 steps. */
export function tiny(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    ...DEFAULT_TRAIN_OPTIONS,
    out,
    corpus: "test",
    model: { ...DEFAULT_TRAIN_OPTIONS.model, n_layers: 2, d_model: 16, n_heads: 2, n_kv_heads: 1, d_mlp: 32 },
    seqLen: 16,
    batchSize: 4,
    steps: 6,
    lr: 1e-2,
    minLr: 1e-3,
    warmup: 2,
    evalEvery: 2,
    evalSequences: 4,
    checkpointEvery: 2,
    keepCheckpoints: 0,
    finalEvalSequences: 100,
    ...over,
  };
}

export const texts: TrainTexts = {
  train: ["the cat sat on the mat. ".repeat(20), "a dog ran in the fog. ".repeat(20)],
  heldout: ["the dog sat on the mat. a cat ran in the fog. ".repeat(4)],
};

/** The float32 weights of a saved model folder, by tensor name. */
export function weightsOf(dir: string): Record<string, Float32Array> {
  const f = readSafetensors(path.join(dir, "model.safetensors"));
  return Object.fromEntries(f.names.map((n) => [n, f.tensors[n].data]));
}
