/**
 * What a model family provides (checkpoint names, converters, forward pass) and the one place
 * where a checkpoint's tensors are checked against its config.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "./config";
import type { ModelWeights } from "./roles";
import type { ForwardOptions, ForwardOutput, StateDict } from "./types";
import { checkWeights, type WeightSpec } from "./weights";

/** How a family's checkpoints are named; independent of its weight type. */
export interface CheckpointFormat {
  /** Checkpoint name -> the name the spec uses (strips or adds model-class prefixes). */
  canonicalName(name: string): string;
  /** Tensors a checkpoint with this config must hold, by canonical HF name with HF shapes. */
  weightSpec(cfg: DecoderConfig): WeightSpec;
}

/** A model family: its checkpoint format, converters to and from the role names, and its forward. */
export interface FamilyRunner<P extends ModelWeights> extends CheckpointFormat {
  /**
   * Canonically named state dict, already checked against weightSpec (see {@link weightsFromHf})
   * -> weights by role (new tensors; the caller still owns `sd`).
   */
  fromHf(cfg: DecoderConfig, sd: StateDict): P;
  /** Inverse of fromHf: canonical HF names in HF layout (new tensors), ready for saveCheckpoint. */
  toHf(cfg: DecoderConfig, p: P): StateDict;
  /** The forward pass. */
  forward(cfg: DecoderConfig, p: P, ids: tf.Tensor2D, opts?: ForwardOptions): ForwardOutput;
}

/**
 * Check names and shapes of a checkpoint's tensors against its config (the only such check):
 * `found` is keyed by checkpoint name; returns the same shapes keyed by canonical name. Throws
 * one error listing missing, misshaped and unexpected tensors, prefixed by `what`.
 */
export function checkCheckpoint(
  format: CheckpointFormat,
  cfg: DecoderConfig,
  what: string,
  found: ReadonlyMap<string, readonly number[]>,
): Map<string, readonly number[]> {
  const canonical = new Map<string, readonly number[]>();
  for (const [name, shape] of found) canonical.set(format.canonicalName(name), shape);
  checkWeights(what, format.weightSpec(cfg), canonical);
  return canonical;
}

/**
 * An in-memory HF state dict (any accepted name prefixes) -> weights by role, after
 * {@link checkCheckpoint}. New tensors; the caller still owns `sd`.
 */
export function weightsFromHf<P extends ModelWeights>(runner: FamilyRunner<P>, cfg: DecoderConfig, sd: StateDict): P {
  checkCheckpoint(runner, cfg, `${cfg.model_type} checkpoint`, new Map(Object.entries(sd).map(([n, t]) => [n, t.shape])));
  const canonical: StateDict = {};
  for (const [name, t] of Object.entries(sd)) canonical[runner.canonicalName(name)] = t;
  return runner.fromHf(cfg, canonical);
}
