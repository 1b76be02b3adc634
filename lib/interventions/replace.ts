/**
 * Running a model with blocks changed, and fitting the changes on calibration text:
 * - residual states of a (possibly already changed) model, chunk by chunk;
 * - the block statistics the selection rules read (block-stats.ts);
 * - "remove": block l maps resid_pre to itself (it is skipped);
 * - "linear": block l becomes resid_pre W + b, fitted by least squares on (resid_pre, resid_post)
 *   pairs, centred, with bias. Blocks are fitted in ascending order, each on the states that the
 *   model with the earlier blocks already replaced produces, so every fit sees the inputs it will
 *   get in use.
 */
import * as tf from "@tensorflow/tfjs-core";
import { idsTensor } from "../models/common/ids";
import { linear } from "../models/common/matmul";
import type { BlockOverride, Model } from "../models/types";
import { AffineFitAccumulator } from "../numerics/affine-fit";
import { BlockStatsAccumulator } from "./block-stats";
import type { EvalIds } from "./evaluate";
import type { BlockStats } from "./select";

/** What happens to a selected block: removed (identity) or replaced by a fitted affine map. */
export type ReplaceMode = "remove" | "linear";
/** Every `ReplaceMode`, in the order the sweep runs them. */
export const REPLACE_MODES: readonly ReplaceMode[] = ["remove", "linear"];

/** An affine block: resid_post = resid_pre weight + bias; weight [d_model, d_model] in the [in, out] layout. */
export interface AffineBlock {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/** What happens to one changed block. */
export type BlockChange = { readonly kind: "remove" } | ({ readonly kind: "linear" } & AffineBlock);

/**
 * Forward-pass replacements for `changes` (block index -> change), as ForwardOptions.blockOverride.
 * The returned `dispose` frees the weight tensors of linear blocks.
 */
export function blockFunctions(changes: ReadonlyMap<number, BlockChange>, dModel: number): { override: BlockOverride; dispose: () => void } {
  const fns = new Map<number, (x: tf.Tensor3D) => tf.Tensor3D>();
  const owned: tf.Tensor[] = [];
  for (const [l, c] of changes) {
    if (c.kind === "remove") {
      fns.set(l, (x) => x);
    } else {
      const w = tf.tensor2d(c.weight, [dModel, dModel]);
      const b = tf.tensor1d(c.bias);
      owned.push(w, b);
      fns.set(l, (x) => linear(x, w, b));
    }
  }
  return { override: (l, x) => fns.get(l)?.(x), dispose: () => tf.dispose(owned) };
}

/**
 * Visit the residual states of `model` on `ids`, batch by batch: resid[l] is [rows, d_model]
 * row-major for l = 0..n_layers (l < n_layers: input of block l; n_layers: output of the last
 * block before the final norm), rows = sequences of the batch x seqLen.
 */
export function forEachResidualBatch(
  model: Model,
  ids: EvalIds,
  batchSize: number,
  blockOverride: BlockOverride | undefined,
  visit: (resid: Float32Array[], sequences: number) => void,
): void {
  const { seqLen, sequences } = ids;
  for (let start = 0; start < sequences; start += batchSize) {
    const b = Math.min(batchSize, sequences - start);
    const states = tf.tidy(() => {
      const input = idsTensor(model.config.d_vocab, ids.ids.subarray(start * seqLen, (start + b) * seqLen), [b, seqLen]); // [batch, pos]
      const out = model.forward(input, { logits: false, blockOverride });
      // Residual stream: inputs of blocks 0..n_layers-1, then the last block's output before the final norm.
      return [...out.hiddenStates.slice(0, -1), out.residPreFinalNorm];
    });
    try {
      visit(states.map((s) => s.dataSync() as Float32Array), b);
    } finally {
      tf.dispose(states);
    }
  }
}

/** The statistics of every block of `model` on calibration ids (see select.ts). */
export function measureBlocks(model: Model, ids: EvalIds, batchSize: number): BlockStats {
  const { n_layers, d_model } = model.config;
  const acc = new BlockStatsAccumulator(n_layers, d_model);
  forEachResidualBatch(model, ids, batchSize, undefined, (resid, b) => acc.add(resid, new Array<number>(b).fill(ids.seqLen)));
  return acc.result();
}

/**
 * Least-squares affine map from resid_pre to resid_post, both [tokens, d_model] streamed through
 * `add` (lib/numerics AffineFitAccumulator: centred, with bias, rcond cut-off), with its R^2.
 */
export function fitAffine(dModel: number, feed: (add: (x: Float32Array, y: Float32Array) => void) => void): AffineBlock & { r2: number } {
  const acc = new AffineFitAccumulator(dModel, dModel, { fn: "fitAffine", names: ["resid_pre", "resid_post"] });
  feed((x, y) => acc.add(x, y));
  const fit = acc.result();
  return { weight: Float32Array.from(fit.weight), bias: Float32Array.from(fit.bias), r2: fit.r2 };
}

/** One fitted block, with the R^2 of its fit on the calibration states. */
export interface FittedBlock extends AffineBlock {
  readonly block: number;
  readonly r2: number;
}

/**
 * Replace `blocks` by affine maps fitted sequentially (ascending) on `ids`: block k is fitted on
 * (resid_pre_k, resid_post_k) of the model in which the blocks before it in `blocks`, and any
 * `base` changes, are already applied. Returns the changes (base ones included) and the fits.
 */
export function fitLinearBlocks(
  model: Model,
  ids: EvalIds,
  blocks: readonly number[],
  batchSize: number,
  base: ReadonlyMap<number, BlockChange> = new Map(),
  onBlock?: (fit: FittedBlock) => void,
): { changes: Map<number, BlockChange>; fits: FittedBlock[] } {
  const d = model.config.d_model;
  const changes = new Map(base);
  const fits: FittedBlock[] = [];
  for (const k of [...blocks].sort((a, b) => a - b)) {
    changes.delete(k); // block k runs as it is while its own input and output are recorded
    const { override, dispose } = blockFunctions(changes, d);
    let fit: AffineBlock & { r2: number };
    try {
      fit = fitAffine(d, (add) => forEachResidualBatch(model, ids, batchSize, override, (resid) => add(resid[k], resid[k + 1])));
    } finally {
      dispose();
    }
    changes.set(k, { kind: "linear", weight: fit.weight, bias: fit.bias });
    const fitted = { block: k, ...fit };
    fits.push(fitted);
    onBlock?.(fitted);
  }
  return { changes, fits };
}
