/**
 * Shared types of the hidden-state dataset format (see docs/dataset-format.md).
 */

/** The model that produced a dataset. */
export interface DatasetModelInfo {
  name: string;
  family: string;
  n_layers: number;
  d_model: number;
  d_vocab?: number;
  /** Where the weights came from (a Hub id, a folder, a URL). */
  source?: string;
}

/** One text sample given to the writer: its token ids, and optionally the text and per-token tags. */
export interface SampleInput {
  tokenIds: Int32Array;
  text?: string;
  /** One tag per token (e.g. a part-of-speech tag). */
  tags?: string[];
  source?: string;
}

/** A sample as listed in the manifest: `offset` is its first row on the flattened `tokens` axis. */
export interface SampleInfo {
  nTokens: number;
  offset: number;
  text?: string;
  source?: string;
}

/** Name and version written into every manifest. */
export const FORMAT_NAME = "linearity-lab/hidden-states";
export const FORMAT_VERSION = 1;

/** The dtypes hidden states are stored in on disk. */
export type StoredDtype = "float16" | "float32";

/** One committed shard, as listed in manifest.json. */
export interface ManifestShard {
  /** Folder relative to the dataset root, e.g. `shards/00000`. */
  dir: string;
  /** First sample and first token of the shard on the dataset's axes. */
  sample_offset: number;
  token_offset: number;
  n_samples: number;
  n_tokens: number;
  /** Whether the shard has tags.json. */
  has_tags: boolean;
}

/** One sample in manifest.json. */
export interface ManifestSample {
  n_tokens: number;
  offset: number;
  text?: string;
  source?: string;
}

/**
 * Which share of an extraction a shard dataset holds (`linearity extract --shard I/N`): the
 * sequences `first_sample .. first_sample + n_samples - 1` of the `total_samples` sequences the
 * same extraction without --shard writes. Shards of one extraction share every other manifest
 * field but their samples, so a list of them reads as the unsharded dataset (docs/cluster.md).
 */
export interface ShardInfo {
  /** I, counted from 0 (Slurm's SLURM_ARRAY_TASK_ID). */
  index: number;
  /** N, the number of shards. */
  count: number;
  /** This shard's first sequence among the unsharded run's sequences. */
  first_sample: number;
  /** Sequences and tokens this shard holds once complete. */
  n_samples: number;
  n_tokens: number;
  /** Sequences and tokens of the unsharded run (all N shards together). */
  total_samples: number;
  total_tokens: number;
  /**
   * The documents of this shard (the samples' `source`), in the order they first appear in it,
   * numbered as the unsharded run numbers them (in order of first appearance, from 0): so that
   * per-document groups (folds, jackknife units) of a shard are the unsharded run's. Absent in
   * shards whose samples have no source.
   */
  documents?: number[];
}

/** The contents of manifest.json. */
export interface Manifest {
  format: typeof FORMAT_NAME;
  version: number;
  model: DatasetModelInfo;
  n_layers: number;
  /**
   * n_layers + 1 hidden states (state 0 the embedding output, state n_layers the final output),
   * unless `state_names` is present: then one state per name.
   */
  n_states: number;
  /**
   * Names of the states when they are not the n_layers + 1 hidden states, e.g. `embed`,
   * `blocks.0.resid_mid`, `blocks.0.resid_post`, ... (written by `linearity extract --points`).
   */
  state_names?: string[];
  d_model: number;
  dtype: StoredDtype;
  /** True once the writer called finish(); false while extraction runs or after an interruption. */
  complete: boolean;
  n_samples: number;
  n_tokens: number;
  samples: ManifestSample[];
  shards: ManifestShard[];
  /** Free-form details of the extraction (corpus, max length, tokenizer, ...). */
  extra?: Record<string, unknown>;
  /** Present in a shard dataset (`linearity extract --shard I/N`): which share it holds. */
  shard?: ShardInfo;
  created: string;
  updated: string;
}

/** File names inside a shard folder. */
export function stateFileName(state: number): string {
  return `state_${String(state).padStart(2, "0")}.npy`;
}
export const TOKEN_IDS_FILE = "token_ids.npy";
export const TAGS_FILE = "tags.json";
export const MANIFEST_FILE = "manifest.json";
export const SHARDS_DIR = "shards";

export function shardDirName(index: number): string {
  return `${SHARDS_DIR}/${String(index).padStart(5, "0")}`;
}
