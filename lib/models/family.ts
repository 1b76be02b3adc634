/**
 * What a model family is, in one record (lib/models/<family>/family.ts): its config.json
 * normalizer, its checkpoint names and shapes, how one block's and the head's weights are read
 * from a checkpoint, its block, and where its positions end. Everything else (loading, streaming,
 * the readout, pruned folders) is written once against this record, so the family is known in its
 * own folder only. Also the one place where a checkpoint's tensors are checked against its config.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig, Family } from "./config";
import type { FamilyBlock } from "./common/forward";
import { transposeWeight } from "./common/transpose";
import type { BlockWeights, ModelWeights } from "./roles";
import type { StateDict } from "./types";
import { checkWeights, type WeightSpec } from "./weights";

/** How a family's checkpoints are named. */
export interface CheckpointFormat {
  /** Checkpoint name -> the name the spec uses (strips or adds model-class prefixes). */
  canonicalName(name: string): string;
  /** Tensors a checkpoint with this config must hold, by canonical HF name with HF shapes. */
  weightSpec(cfg: DecoderConfig): WeightSpec;
}

/** The weights outside the blocks other than the two vocabulary tables (kept resident when streaming). */
export type HeadWeights = Pick<ModelWeights, "embed_proj" | "pos_embed" | "ln_final" | "unembed_proj">;

/** One model family (see the file comment). */
export interface ModelFamily extends CheckpointFormat {
  readonly name: Family;
  /** config.json `model_type` values this family runs. */
  readonly modelTypes: readonly string[];
  /** config.json (a checked object) -> the canonical config; throws one line for unsupported variants. */
  normalize(hf: Record<string, unknown>, modelType: string): Omit<DecoderConfig, "hf">;
  /** config.json keys that may hold the block count, in HF's order of preference. */
  readonly layerCountKeys: readonly string[];
  /** Canonical name prefix of the blocks: block l's tensors are `${blockPrefix}${l}.<rest>`. */
  readonly blockPrefix: string;
  /** Canonical name of the token embedding, [d_vocab, d_embed]. */
  readonly embedName: string;
  /** Canonical name of the untied output projection, nn.Linear [d_vocab, d_embed] without bias. */
  readonly unembedName: string;
  /**
   * The longest sequence the model can run: n_ctx for learned positions (GPT-2, OPT); undefined
   * for rotary families, which run past max_position_embeddings as HF does.
   */
  maxPositions(cfg: DecoderConfig): number | undefined;
  /**
   * Block l's weights by role from a checked, canonically named state dict holding at least that
   * block (new tensors). Must read each checkpoint tensor once and be done with it before reading
   * the next (transpose, split or clone it at once): the streamed reader (lib/models/read.ts)
   * frees a raw tensor when the next one is read.
   */
  blockFromHf(cfg: DecoderConfig, sd: StateDict, l: number): BlockWeights;
  /**
   * True when blockFromHf takes every matrix of a block through `linearFromHf` (none split or
   * fused), so a read-on-use state dict defers them all: a block larger than the memory budget
   * or the wasm heap then runs tensor by tensor (lib/models/common/read-on-use.ts).
   */
  readonly projectionsOnUse: boolean;
  /** The head weights (positions, projections, final norm) from a checked state dict (new tensors). */
  headFromHf(cfg: DecoderConfig, sd: StateDict): HeadWeights;
  /** Inverse of {@link weightsFromHf}: canonical HF names in HF layout (new tensors), ready for saveCheckpoint. */
  toHf(cfg: DecoderConfig, p: ModelWeights): StateDict;
  /** The block, its per-run constants and its norm (lib/models/<family>/forward.ts). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly decoder: FamilyBlock<any>;
}

/** Split a canonical tensor name into its block index and the rest, or undefined outside the blocks. */
export function parseBlockName(family: ModelFamily, name: string): { block: number; rest: string } | undefined {
  if (!name.startsWith(family.blockPrefix)) return undefined;
  const m = /^(\d+)(\..*)$/.exec(name.slice(family.blockPrefix.length));
  return m ? { block: Number(m[1]), rest: m[2] } : undefined;
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

/** The parts of a family record that read weights (what its convert.ts defines). */
export type WeightParts = Pick<ModelFamily, "embedName" | "unembedName" | "blockFromHf" | "headFromHf">;

/** A checked, canonically named state dict -> all weights by role (new tensors; `sd` stays the caller's). */
export function assembleWeights(family: WeightParts, cfg: DecoderConfig, sd: StateDict): ModelWeights {
  return {
    embed: tf.clone(sd[family.embedName]) as tf.Tensor2D,
    ...family.headFromHf(cfg, sd),
    blocks: Array.from({ length: cfg.n_layers }, (_, l) => family.blockFromHf(cfg, sd, l)),
    // nn.Linear [d_vocab, d_embed] -> [d_embed, d_vocab]; tied models read the embedding instead.
    unembed: cfg.tie_word_embeddings ? undefined : { w: transposeWeight(sd[family.unembedName] as tf.Tensor2D) },
  };
}

/**
 * An in-memory HF state dict (any accepted name prefixes) -> weights by role, after
 * {@link checkCheckpoint}. New tensors; the caller still owns `sd`.
 */
export function weightsFromHf(family: ModelFamily, cfg: DecoderConfig, sd: StateDict): ModelWeights {
  checkCheckpoint(family, cfg, `${cfg.model_type} checkpoint`, new Map(Object.entries(sd).map(([n, t]) => [n, t.shape])));
  const canonical: StateDict = {};
  for (const [name, t] of Object.entries(sd)) canonical[family.canonicalName(name)] = t;
  return assembleWeights(family, cfg, canonical);
}
