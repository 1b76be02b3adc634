/**
 * model family -> how to check, convert and run its checkpoints. One entry per folder under
 * lib/models/ (gpt2, opt, llama, gpt_neox); qwen2 and mistral run as llama.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig, Family } from "./config";
import { gpt2CanonicalName, gpt2FromHf, gpt2WeightSpec } from "./gpt2/convert";
import { gpt2Forward } from "./gpt2/forward";
import { neoxFromHf, neoxWeightSpec } from "./gpt_neox/convert";
import { neoxForward } from "./gpt_neox/forward";
import { llamaFromHf, llamaWeightSpec } from "./llama/convert";
import { llamaForward } from "./llama/forward";
import { optCanonicalName, optFromHf, optWeightSpec } from "./opt/convert";
import { optForward } from "./opt/forward";
import type { ForwardOptions, ForwardOutput, StateDict } from "./types";
import type { WeightSpec } from "./weights";

/** What the loader needs to know about a family; Params is opaque to it. */
export interface FamilyRunner {
  /** Checkpoint name -> the name the spec uses (strips or adds model-class prefixes). */
  canonicalName(name: string): string;
  /** Tensors a checkpoint with this config must hold. */
  weightSpec(cfg: DecoderConfig): WeightSpec;
  /** HF-named state dict -> the family's params (new tensors). */
  fromHf(cfg: DecoderConfig, sd: StateDict): unknown;
  /** The family's forward pass. */
  forward(cfg: DecoderConfig, params: unknown, ids: tf.Tensor2D, opts?: ForwardOptions): ForwardOutput;
}

const identity = (name: string) => name;

export const FAMILIES: Readonly<Record<Family, FamilyRunner>> = {
  gpt2: {
    canonicalName: gpt2CanonicalName,
    weightSpec: gpt2WeightSpec,
    fromHf: gpt2FromHf,
    forward: (cfg, p, ids, opts) => gpt2Forward(cfg, p as Parameters<typeof gpt2Forward>[1], ids, opts),
  },
  opt: {
    canonicalName: optCanonicalName,
    weightSpec: optWeightSpec,
    fromHf: optFromHf,
    forward: (cfg, p, ids, opts) => optForward(cfg, p as Parameters<typeof optForward>[1], ids, opts),
  },
  llama: {
    canonicalName: identity,
    weightSpec: llamaWeightSpec,
    fromHf: llamaFromHf,
    forward: (cfg, p, ids, opts) => llamaForward(cfg, p as Parameters<typeof llamaForward>[1], ids, opts),
  },
  gpt_neox: {
    canonicalName: identity,
    weightSpec: neoxWeightSpec,
    fromHf: neoxFromHf,
    forward: (cfg, p, ids, opts) => neoxForward(cfg, p as Parameters<typeof neoxForward>[1], ids, opts),
  },
};

/** Dispose every tensor inside a params object of any family. */
export function disposeParams(params: unknown): void {
  tf.dispose(params as tf.TensorContainer);
}
