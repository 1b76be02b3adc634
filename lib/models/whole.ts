/**
 * A whole, resident model from an opened checkpoint: every weight read as float32 once, the
 * family's forward run on them. Also what a pruned folder's linear blocks (affine maps) add to any
 * model's forward, shared with the streamed runner.
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeMatmulInstalled } from "../native/wasm-matmul";
import { linear } from "./common/matmul";
import { runDecoder } from "./common/forward";
import { parseBlockName } from "./family";
import { linearBlockNames } from "./linear-blocks";
import type { OpenedCheckpoint } from "./load";
import { residentReadout } from "./readout";
import { placeholderBlock, readBlock, readHead, readWeight } from "./read";
import { disposeWeights, type ModelWeights } from "./roles";
import { transposeWeight } from "./common/transpose";
import type { ForwardOptions, Model, StateDict } from "./types";

/** An nn.Linear [out, in] tensor of the checkpoint as [in, out] float32. */
function readTransposed(ck: OpenedCheckpoint, name: string): tf.Tensor2D {
  const raw = readWeight(ck, name) as tf.Tensor2D;
  try {
    return transposeWeight(raw);
  } finally {
    raw.dispose();
  }
}

/** Affine blocks of a pruned folder: block -> w [in, out], b [d_model]. */
export type AffineBlocks = Map<number, { w: tf.Tensor2D; b: tf.Tensor1D }>;

/** The affine maps of a pruned folder's linear blocks (stored nn.Linear style, [out, in]). */
export function readAffineBlocks(ck: OpenedCheckpoint): AffineBlocks {
  const affine: AffineBlocks = new Map();
  for (const l of ck.linearBlocks) {
    const names = linearBlockNames(ck.config.family, l);
    const w = readWeight(ck, names.weight);
    affine.set(l, { w: tf.transpose(w) as tf.Tensor2D, b: readWeight(ck, names.bias) as tf.Tensor1D });
    w.dispose();
  }
  return affine;
}

/** Forward options with the linear blocks run as their affine maps (a caller's own override still wins). */
export function withAffineBlocks(affine: AffineBlocks, opts: ForwardOptions): ForwardOptions {
  if (affine.size === 0) return opts;
  return {
    ...opts,
    blockOverride: (l, x) => opts.blockOverride?.(l, x) ?? (affine.has(l) ? linear(x, affine.get(l)!.w, affine.get(l)!.b) : undefined),
  };
}

/**
 * Read every weight of `ck` and bind it to its family's forward. A pruned folder's linear blocks
 * get zeros in place of their own weights (never read: a blockOverride computes those blocks), and
 * stateDict() gives the folder's tensors back.
 */
export function wholeModel(ck: OpenedCheckpoint): Model {
  const { config, family } = ck;
  const affine = readAffineBlocks(ck);
  const linear = new Set(ck.linearBlocks);
  // Block by block, so that loading peaks at the weights plus one block's raw copy.
  const weights: ModelWeights = {
    embed: readWeight(ck, family.embedName) as tf.Tensor2D,
    ...readHead(ck),
    // With products on the native BLAS (extract, eval), nn.Linear weights stay [out, in]: no transpose at load.
    blocks: Array.from({ length: config.n_layers }, (_, l) => (linear.has(l) ? placeholderBlock(ck, l) : readBlock(ck, l, { storedLayout: nativeMatmulInstalled() }))),
    unembed: config.tie_word_embeddings ? undefined : { w: readTransposed(ck, family.unembedName) },
  };
  const w = weights;
  const isPlaceholder = (name: string) => affine.has(parseBlockName(family, name)?.block ?? -1);
  return {
    config,
    hfConfig: ck.hfConfig,
    weights: w,
    streamed: false,
    forward: (ids, opts = {}) => runDecoder(family.decoder, config, w, ids, withAffineBlocks(affine, opts)),
    readout: residentReadout(family, config, w),
    stateDict: () => {
      const out = family.toHf(config, w);
      if (affine.size === 0) return out;
      for (const name of Object.keys(out)) {
        if (isPlaceholder(name)) {
          out[name].dispose();
          delete out[name];
        }
      }
      for (const [l, { w: aw, b }] of affine) {
        const names = linearBlockNames(config.family, l);
        out[names.weight] = tf.transpose(aw);
        out[names.bias] = tf.clone(b);
      }
      return out;
    },
    dispose: () => {
      disposeWeights(w);
      tf.dispose([...affine.values()].flatMap(({ w: aw, b }) => [aw, b]));
    },
  };
}
