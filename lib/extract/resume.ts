/**
 * Continuing an extraction: the settings that decide which sequences are written (text, seq-len,
 * max-tokens, tokenizer, model) are stored in the manifest's `extra.extraction`; a re-run must
 * match them, or it would append different sequences to the same dataset.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readManifest } from "../dataset/manifest";
import { MANIFEST_FILE, type Manifest } from "../dataset/types";

/** What decides the sequences of a dataset; stored as manifest.extra.extraction. */
export interface ExtractionSettings {
  model: string;
  text: string;
  seq_len: number;
  max_tokens: number | null;
  dtype: string;
  tokenizer: string;
  bos_token_id: number | null;
}

/** The extract option behind each stored setting (the CLI shows them as its flags). */
const OPTIONS: Record<keyof ExtractionSettings, string> = {
  model: "'model'",
  text: "'text'",
  seq_len: "'seqLen'",
  max_tokens: "'maxTokens'",
  dtype: "'dtype'",
  tokenizer: "tokenizer",
  bos_token_id: "bos_token_id",
};

/**
 * The existing manifest of `out` when it was written with the same settings (undefined when `out`
 * has no dataset yet); an error naming the first differing setting otherwise.
 */
export function checkResumable(out: string, want: ExtractionSettings): Manifest | undefined {
  if (!fs.existsSync(path.join(out, MANIFEST_FILE))) return undefined;
  const m = readManifest(out);
  const stored = (m.extra?.extraction ?? undefined) as Partial<ExtractionSettings> | undefined;
  if (stored === undefined) {
    throw new Error(`${out} holds a dataset that was not written by 'linearity extract'; choose another 'out'`);
  }
  const show = (v: unknown): string => (v === null || v === undefined ? "(none)" : String(v));
  const diffs = (Object.keys(OPTIONS) as (keyof ExtractionSettings)[])
    .filter((k) => show(stored[k]) !== show(want[k]))
    .map((k) => `${OPTIONS[k]} ${show(stored[k])} (this run: ${show(want[k])})`);
  if (diffs.length > 0) {
    throw new Error(
      `${out} was extracted with other settings: ${diffs.join(", ")}; rerun with the same settings to continue, or choose another 'out'`,
    );
  }
  return m;
}
