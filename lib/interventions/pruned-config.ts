/**
 * The model-folder format of a pruned or block-replaced model (`linearity prune --out DIR2`):
 * a Hugging Face checkpoint folder of the same family, with
 *
 * - removed blocks gone: the block count key (`num_hidden_layers`, GPT-2's `n_layer`) lowered and
 *   the remaining blocks renumbered 0..n_layers-1 in order. Such a folder is an ordinary
 *   checkpoint, loadable by Hugging Face transformers too.
 * - linear blocks: config.json field `linearity_linear_blocks` lists the blocks (in the folder's
 *   own numbering) whose whole computation is the affine map resid_post = resid_pre W^T + b,
 *   stored as `<block>.linear.weight` [d_model, d_model] (nn.Linear layout [out, in]) and
 *   `<block>.linear.bias` [d_model]; such a block has no other weights. (Hugging Face
 *   transformers does not know this field: it would re-initialise those blocks at random.)
 * - provenance in `linearity_prune` (read by nothing but `linearity eval`'s calibration check and
 *   people): source model, rule, replacement, chosen blocks, their scores, calibration text.
 *
 * A folder without these fields (any original checkpoint) loads exactly as before.
 */
import type { Family } from "../models/config";

/** config.json field: blocks computed as an affine map (folder numbering, ascending). */
export const LINEAR_BLOCKS_FIELD = "linearity_linear_blocks";
/** config.json field: how the folder was made ({@link PruneProvenance}). */
export const PRUNE_FIELD = "linearity_prune";

/** What `linearity prune` records in config.json under `linearity_prune`. */
export interface PruneProvenance {
  /** The --model argument. */
  source: string;
  /** n_layers of the source model. */
  source_n_layers: number;
  select: string;
  replace: "remove" | "linear";
  /** Changed blocks, in the source model's numbering. */
  blocks: number[];
  /** The selection rule's number for each changed block, and what it is. */
  scores: number[];
  score_name: string;
  /** For each block of this folder, its index in the source model. */
  kept_blocks: number[];
  /** Calibration text and how many tokens of it were used (BOS included), at which seq-len. */
  calibrate: string;
  calibrate_tokens: number;
  seq_len: number;
}

/** The config key holding the number of blocks, per family. */
export function blockCountKey(family: Family, hf: Readonly<Record<string, unknown>>): string {
  if (family === "gpt2") return hf.n_layer !== undefined ? "n_layer" : "num_hidden_layers";
  return "num_hidden_layers";
}

/** Block name prefixes as the loader's canonical names spell them. */
const BLOCK_PATTERN: Record<Family, RegExp> = {
  llama: /^(model\.layers\.)(\d+)(\..*)$/,
  gpt2: /^(h\.)(\d+)(\..*)$/,
  opt: /^(model\.decoder\.layers\.)(\d+)(\..*)$/,
};
const BLOCK_PREFIX: Record<Family, string> = { llama: "model.layers.", gpt2: "h.", opt: "model.decoder.layers." };

/** Canonical name prefix of block l ("model.layers.3", "h.3", "model.decoder.layers.3"). */
export function blockPrefix(family: Family, l: number): string {
  return `${BLOCK_PREFIX[family]}${l}`;
}

/** Split a canonical tensor name into its block index and the rest, or undefined outside blocks. */
export function parseBlockName(family: Family, name: string): { block: number; rest: string } | undefined {
  const m = BLOCK_PATTERN[family].exec(name);
  return m ? { block: Number(m[2]), rest: m[3] } : undefined;
}

/** Names of a linear block's two tensors. */
export function linearBlockNames(family: Family, l: number): { weight: string; bias: string } {
  const p = blockPrefix(family, l);
  return { weight: `${p}.linear.weight`, bias: `${p}.linear.bias` };
}

/**
 * The linear blocks a config.json declares, validated: distinct integers in 0..n_layers-1,
 * ascending. [] when the field is absent.
 */
export function linearBlocks(hf: Readonly<Record<string, unknown>>, nLayers: number): number[] {
  const v = hf[LINEAR_BLOCKS_FIELD];
  if (v === undefined || v === null) return [];
  const bad = () => new Error(`config.json: '${LINEAR_BLOCKS_FIELD}' must be a list of distinct block indices 0..${nLayers - 1}, got ${JSON.stringify(v)}`);
  if (!Array.isArray(v)) throw bad();
  for (const b of v) if (!Number.isInteger(b) || b < 0 || b >= nLayers) throw bad();
  if (new Set(v).size !== v.length) throw bad();
  return [...(v as number[])].sort((a, b) => a - b);
}

/** The calibration text recorded by `linearity prune`, if any. */
export function calibrationSource(hf: Readonly<Record<string, unknown>>): string | undefined {
  const p = hf[PRUNE_FIELD];
  if (typeof p !== "object" || p === null) return undefined;
  const c = (p as Record<string, unknown>).calibrate;
  return typeof c === "string" ? c : undefined;
}
