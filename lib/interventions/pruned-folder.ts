/**
 * Write a pruned / block-replaced model folder (format: pruned-config.ts) from the source
 * checkpoint's tensors and the block changes: removed blocks dropped and the rest renumbered,
 * linear blocks stored as `<block>.linear.weight` [out, in] + `.bias`, config.json updated.
 * Tokenizer files are copied so the folder tokenizes like its source. The folder is written
 * under a temporary name and renamed into place once complete (io/atomic-folder.ts), so a kill
 * leaves the old `out` or the new one, never weights without their tokenizer or config.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { normalizeHfConfig } from "../models/config";
import { blockCountKey, LINEAR_BLOCKS_FIELD, linearBlockNames, linearBlocks, parseBlockName, blockPrefix } from "../models/linear-blocks";
import { openWeights } from "../models/load";
import { FAMILIES } from "../models/registry";
import { writeFolderAtomic } from "../io/atomic-folder";
import { saveCheckpoint, type LazyWeight, type SaveDtype } from "../models/save";
import { PRUNE_FIELD, type PruneProvenance } from "./pruned-config";
import type { BlockChange } from "./replace";

/** Files besides the weights that a model folder may need (tokenizer, generation defaults). */
const COPIED_FILES = [
  "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
  "generation_config.json",
];
const TORCH_DTYPE: Record<SaveDtype, string> = {
  F32: "float32", F16: "float16", BF16: "bfloat16", float32: "float32", float16: "float16", bfloat16: "bfloat16",
};

/**
 * Write `out` from the checkpoint in `srcDir` with `changes` applied (block index -> change, in
 * the source's numbering). `provenance` goes to config.json `linearity_prune` (its kept_blocks
 * is filled in here). Returns the new config.json object.
 */
export function writePrunedFolder(
  srcDir: string,
  changes: ReadonlyMap<number, BlockChange>,
  provenance: Omit<PruneProvenance, "kept_blocks">,
  out: string,
  dtype: SaveDtype = "F32",
): Record<string, unknown> {
  if (path.resolve(srcDir) === path.resolve(out)) throw new Error(`--out ${out} is the source model folder; choose a new folder`);
  const hf = JSON.parse(fs.readFileSync(path.join(srcDir, "config.json"), "utf8")) as Record<string, unknown>;
  const cfg = normalizeHfConfig(hf);
  const family = cfg.family;
  const n = cfg.n_layers;
  for (const l of changes.keys()) if (!Number.isInteger(l) || l < 0 || l >= n) throw new Error(`block ${l} is outside 0..${n - 1}`);
  if ([...changes.values()].every((c) => c.kind === "remove") && changes.size === n) {
    throw new Error(`removing all ${n} blocks leaves no model; choose fewer blocks`);
  }

  // New index of every kept block (removed blocks get none).
  const kept: number[] = [];
  const newIndex = new Map<number, number>();
  for (let l = 0; l < n; l++) {
    if (changes.get(l)?.kind === "remove") continue;
    newIndex.set(l, kept.length);
    kept.push(l);
  }
  // Blocks that are linear afterwards: the source's own linear blocks that stay, plus the new ones.
  const wasLinear = new Set(linearBlocks(hf, n));
  const isLinear = (l: number) => changes.get(l)?.kind === "linear" || (!changes.has(l) && wasLinear.has(l));

  // The source's tensors are copied lazily, one at a time as the file is written, so a model
  // larger than memory can be pruned (its blocks were streamed for calibration too).
  const tensors: Record<string, tf.Tensor | LazyWeight> = {};
  try {
    for (const [name, t] of openWeights(srcDir)) {
      const canonical = FAMILIES[family].canonicalName(name);
      const inBlock = parseBlockName(family, canonical);
      if (inBlock === undefined) {
        tensors[canonical] = { shape: t.shape, read: () => t.read() };
        continue;
      }
      const to = newIndex.get(inBlock.block);
      // Removed blocks, and the old weights of blocks that become linear now, are dropped.
      if (to === undefined || changes.get(inBlock.block)?.kind === "linear") continue;
      tensors[`${blockPrefix(family, to)}${inBlock.rest}`] = { shape: t.shape, read: () => t.read() };
    }
    const d = cfg.d_model;
    for (const [l, c] of changes) {
      if (c.kind !== "linear") continue;
      const names = linearBlockNames(family, newIndex.get(l)!);
      // [in, out] -> nn.Linear's [out, in].
      tensors[names.weight] = tf.tidy(() => tf.transpose(tf.tensor2d(c.weight, [d, d])));
      tensors[names.bias] = tf.tensor1d(c.bias);
    }

    const config: Record<string, unknown> = { ...hf, [blockCountKey(family, hf)]: kept.length };
    const linearNew = kept.map((l, i) => (isLinear(l) ? i : -1)).filter((i) => i >= 0);
    if (linearNew.length > 0) config[LINEAR_BLOCKS_FIELD] = linearNew;
    else delete config[LINEAR_BLOCKS_FIELD];
    const previous = hf[PRUNE_FIELD];
    config[PRUNE_FIELD] = { ...provenance, kept_blocks: kept, ...(previous !== undefined ? { previous } : {}) };
    if (typeof config.torch_dtype === "string") config.torch_dtype = TORCH_DTYPE[dtype];

    writeFolderAtomic(out, (tmp) => {
      try {
        saveCheckpoint(tmp, config, tensors, dtype);
      } catch (err) {
        // Weights float16 cannot hold (beyond 65,504) or that are not finite: name the output.
        if (err instanceof Error && err.message.startsWith("weight '")) {
          err.message = `${out}: ${err.message.replace("save it as float32 or bfloat16", "use --dtype float32 or bfloat16")}`;
        }
        throw err;
      }
      for (const f of COPIED_FILES) {
        const src = path.join(srcDir, f);
        if (fs.existsSync(src)) fs.copyFileSync(src, path.join(tmp, f));
      }
    });
    return config;
  } finally {
    tf.dispose(Object.values(tensors).filter((t): t is tf.Tensor => t instanceof tf.Tensor));
  }
}
