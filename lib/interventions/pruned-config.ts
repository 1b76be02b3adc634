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
export { blockCountKey, blockPrefix, LINEAR_BLOCKS_FIELD, linearBlockNames, linearBlocks, parseBlockName } from "../models/linear-blocks";

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
  /** A calibration file's real path (symlinks resolved), so eval can compare from any folder. */
  calibrate_path?: string;
  calibrate_tokens: number;
  seq_len: number;
}

/** The calibration text recorded by `linearity prune`, if any (the latest prune's; see {@link calibrationSources}). */
export function calibrationSource(hf: Readonly<Record<string, unknown>>): string | undefined {
  return calibrationSources(hf)[0];
}

/**
 * Every calibration text a pruned folder's replacements were fitted on: its own prune's and
 * those of the prunes before it (`linearity_prune.previous`, a folder pruned again), each as the
 * real path recorded for a file (`calibrate_path`) when there is one, else as given.
 */
export function calibrationSources(hf: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  let p: unknown = hf[PRUNE_FIELD];
  for (let depth = 0; typeof p === "object" && p !== null && depth < 64; depth++) {
    const r = p as Record<string, unknown>;
    const c = typeof r.calibrate_path === "string" ? r.calibrate_path : r.calibrate;
    if (typeof c === "string") out.push(c);
    p = r.previous;
  }
  return out;
}
