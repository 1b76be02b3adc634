/**
 * model family -> its runner (lib/models/<family>/runner.ts). Each runner keeps its own weight
 * type P; {@link bindFamily} closes over it, so the loader needs no casts.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig, Family } from "./config";
import type { CheckpointFormat, FamilyRunner } from "./family";
import { GPT2 } from "./gpt2/runner";
import { LLAMA } from "./llama/runner";
import { OPT } from "./opt/runner";
import { disposeWeights, type ModelWeights } from "./roles";
import type { ForwardOptions, ForwardOutput, StateDict } from "./types";

/** Weights of one model bound to their family's forward and converters. */
export interface BoundWeights {
  readonly weights: ModelWeights;
  forward(ids: tf.Tensor2D, opts?: ForwardOptions): ForwardOutput;
  stateDict(): StateDict;
  dispose(): void;
}

/** A family as the loader sees it: checkpoint format plus a converter to bound weights. */
export interface RegisteredFamily extends CheckpointFormat {
  /** A checked, canonically named state dict -> bound weights (new tensors; `sd` stays the caller's). */
  bind(cfg: DecoderConfig, sd: StateDict): BoundWeights;
}

/** Close a runner over its weight type. */
export function bindFamily<P extends ModelWeights>(runner: FamilyRunner<P>): RegisteredFamily {
  return {
    canonicalName: (name) => runner.canonicalName(name),
    weightSpec: (cfg) => runner.weightSpec(cfg),
    bind(cfg, sd) {
      const weights = runner.fromHf(cfg, sd);
      return {
        weights,
        forward: (ids, opts) => runner.forward(cfg, weights, ids, opts),
        stateDict: () => runner.toHf(cfg, weights),
        dispose: () => disposeWeights(weights),
      };
    },
  };
}

/** The runner of each family, with its own weight type. */
export const RUNNERS = { gpt2: GPT2, opt: OPT, llama: LLAMA } as const satisfies { readonly [F in Family]: FamilyRunner<ModelWeights> };

export const FAMILIES: Readonly<Record<Family, RegisteredFamily>> = {
  gpt2: bindFamily(RUNNERS.gpt2),
  opt: bindFamily(RUNNERS.opt),
  llama: bindFamily(RUNNERS.llama),
};
