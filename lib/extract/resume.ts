/**
 * Continuing an extraction: the settings that decide which sequences are written (text, seq-len,
 * max-tokens, tokenizer, model, hub revision, a fingerprint of the weights) are stored in the
 * manifest's `extra.extraction`; a re-run must match them, or it would append different
 * sequences, or states of another model, to the same dataset. The sequences already committed
 * are compared token by token with the ones the text gives now (see {@link storedSequenceIds}).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readManifest } from "../dataset/manifest";
import { MANIFEST_FILE, TOKEN_IDS_FILE, type Manifest } from "../dataset/types";
import { readNpyInt32 } from "../io/npy";
import type { ShardSpec } from "./shard";

/** What decides the sequences of a dataset; stored as manifest.extra.extraction. */
export interface ExtractionSettings {
  model: string;
  text: string;
  seq_len: number;
  max_tokens: number | null;
  /** Round-robin over documents (`--spread`); absent in datasets written before the option. */
  spread: boolean;
  dtype: string;
  tokenizer: string;
  bos_token_id: number | null;
  /** Hub revision when `model` is a hub id; null for a local folder. */
  revision?: string | null;
  /** modelFingerprint() of the model folder (config.json + weights). */
  weights?: string;
  /** `--points` in storage order ("resid_mid,resid_post"), null for the hidden states. */
  points: string | null;
}

/** The extract option behind each stored setting (the CLI shows them as its flags). */
const OPTIONS: Record<keyof ExtractionSettings, string> = {
  model: "'model'",
  text: "'text'",
  seq_len: "'seqLen'",
  max_tokens: "'maxTokens'",
  spread: "'spread'",
  dtype: "'dtype'",
  tokenizer: "tokenizer",
  bos_token_id: "bos_token_id",
  revision: "'revision'",
  weights: "weights",
  points: "'points'",
};

/** Settings added later: a dataset written before they existed is not checked for them. */
const ADDED_LATER: readonly (keyof ExtractionSettings)[] = ["revision", "weights"];

/**
 * The existing manifest of `out` when it was written with the same settings (undefined when `out`
 * has no dataset yet); an error naming the first differing setting otherwise.
 */
export function checkResumable(out: string, want: ExtractionSettings, shard?: ShardSpec): Manifest | undefined {
  if (!fs.existsSync(path.join(out, MANIFEST_FILE))) return undefined;
  const m = readManifest(out);
  const stored = (m.extra?.extraction ?? undefined) as Partial<ExtractionSettings> | undefined;
  if (stored === undefined) {
    throw new Error(`${out} holds a dataset that was not written by 'linearity extract'; choose another 'out'`);
  }
  const show = (v: unknown): string => (v === null || v === undefined ? "(none)" : String(v));
  // Datasets written before 'spread' existed read as spread: false.
  const before: Partial<ExtractionSettings> = { ...stored, spread: stored.spread ?? false };
  const changed = (Object.keys(OPTIONS) as (keyof ExtractionSettings)[])
    .filter((k) => !(ADDED_LATER.includes(k) && !(k in stored)))
    .filter((k) => show(before[k]) !== show(want[k]));
  const diffs = changed.map((k) => `${OPTIONS[k]} ${show(before[k])} (this run: ${show(want[k])})`);
  // The shard is part of what decides the sequences: resuming shard 1/3 as 2/3, or as the whole run, would mix them.
  const share = (sh: ShardSpec | undefined): string => (sh === undefined ? "(none)" : `${sh.index}/${sh.count}`);
  if (share(m.shard) !== share(shard)) diffs.push(`'shard' ${share(m.shard)} (this run: ${share(shard)})`);
  if (diffs.length > 0) {
    const why = changed.includes("weights") ? "; the model's config.json or weights changed since the dataset was started" : "";
    throw new Error(
      `${out} was extracted with other settings: ${diffs.join(", ")}${why}; rerun with the same settings to continue, or choose another 'out'`,
    );
  }
  return m;
}

/** The token ids of each committed sequence of the dataset in `out`, in order. */
export function* storedSequenceIds(out: string): Generator<Int32Array> {
  const m = readManifest(out);
  for (const shard of m.shards) {
    const ids = readNpyInt32(path.join(out, shard.dir, TOKEN_IDS_FILE)).data;
    for (let i = shard.sample_offset; i < shard.sample_offset + shard.n_samples; i++) {
      const s = m.samples[i];
      yield ids.subarray(s.offset - shard.token_offset, s.offset - shard.token_offset + s.n_tokens);
    }
  }
}

/** Where two id sequences first differ ("token 4: 107 stored, 75 now"), or undefined if equal. */
export function firstDifference(stored: Int32Array, now: Int32Array): string | undefined {
  const n = Math.min(stored.length, now.length);
  for (let j = 0; j < n; j++) if (stored[j] !== now[j]) return `token ${j}: ${stored[j]} stored, ${now[j]} now`;
  return stored.length === now.length ? undefined : `${stored.length} tokens stored, ${now.length} now`;
}
