/**
 * Reading and validating manifest.json. Every error names the manifest file and the field.
 */
import * as path from "path";
import { readJsonFile } from "../io/json";
import { FORMAT_NAME, FORMAT_VERSION, MANIFEST_FILE, type Manifest } from "./types";

function isInt(v: unknown, min = 0): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

/** Read `dir/manifest.json`, check its structure and internal consistency, and return it. */
export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  const m = readJsonFile(file) as Manifest;
  const bad = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (typeof m !== "object" || m === null) bad("not a JSON object");
  if (m.format !== FORMAT_NAME) bad(`format is ${JSON.stringify(m.format)}, expected "${FORMAT_NAME}"`);
  if (m.version !== FORMAT_VERSION) bad(`format version ${m.version} is not supported (this reader knows ${FORMAT_VERSION})`);
  if (typeof m.model !== "object" || m.model === null || typeof m.model.name !== "string") bad("'model' must be an object with a name");
  if (!isInt(m.n_layers, 1)) bad(`'n_layers' must be a positive integer, got ${JSON.stringify(m.n_layers)}`);
  if (m.state_names !== undefined) {
    if (!Array.isArray(m.state_names) || m.state_names.length < 2 || m.state_names.some((n) => typeof n !== "string" || n === "")) {
      bad("'state_names' must be a list of at least 2 non-empty names");
    }
    if (new Set(m.state_names).size !== m.state_names.length) bad("'state_names' has a repeated name");
    if (m.n_states !== m.state_names.length) bad(`'n_states' must be the number of state_names = ${m.state_names.length}, got ${JSON.stringify(m.n_states)}`);
  } else if (m.n_states !== m.n_layers + 1) {
    bad(`'n_states' must be n_layers + 1 = ${m.n_layers + 1}, got ${JSON.stringify(m.n_states)}`);
  }
  if (!isInt(m.d_model, 1)) bad(`'d_model' must be a positive integer, got ${JSON.stringify(m.d_model)}`);
  if (m.dtype !== "float16" && m.dtype !== "float32") bad(`'dtype' must be "float16" or "float32", got ${JSON.stringify(m.dtype)}`);
  if (typeof m.complete !== "boolean") bad("'complete' must be true or false");
  if (!Array.isArray(m.samples)) bad("'samples' must be a list");
  if (!Array.isArray(m.shards)) bad("'shards' must be a list");
  // Samples tile the token axis in order.
  let offset = 0;
  m.samples.forEach((s, i) => {
    if (!isInt(s?.n_tokens, 1)) bad(`samples[${i}].n_tokens must be a positive integer`);
    if (s.offset !== offset) bad(`samples[${i}].offset is ${s.offset}, expected ${offset} (samples must tile the token axis)`);
    offset += s.n_tokens;
  });
  if (m.n_samples !== m.samples.length) bad(`'n_samples' is ${m.n_samples} but ${m.samples.length} samples are listed`);
  if (m.n_tokens !== offset) bad(`'n_tokens' is ${m.n_tokens} but the samples hold ${offset} tokens`);
  // Shards tile the samples in order.
  let sampleAt = 0;
  let tokenAt = 0;
  m.shards.forEach((sh, k) => {
    if (typeof sh?.dir !== "string" || sh.dir.includes("..") || path.isAbsolute(sh.dir)) bad(`shards[${k}].dir must be a relative folder`);
    if (sh.sample_offset !== sampleAt || sh.token_offset !== tokenAt) {
      bad(`shards[${k}] starts at sample ${sh.sample_offset}, token ${sh.token_offset}; expected sample ${sampleAt}, token ${tokenAt}`);
    }
    if (!isInt(sh.n_samples, 1) || !isInt(sh.n_tokens, 1)) bad(`shards[${k}] must hold at least one sample and token`);
    const last = m.samples[sampleAt + sh.n_samples - 1];
    if (last === undefined || last.offset + last.n_tokens - tokenAt !== sh.n_tokens) {
      bad(`shards[${k}] n_tokens ${sh.n_tokens} does not match its ${sh.n_samples} samples`);
    }
    sampleAt += sh.n_samples;
    tokenAt += sh.n_tokens;
  });
  if (sampleAt !== m.samples.length) bad(`shards hold ${sampleAt} samples but ${m.samples.length} are listed`);
  if (m.shard !== undefined) checkShardInfo(m, bad);
  return m;
}

/** A shard dataset's `shard` field: its share lies inside the run, and a complete one holds all of it. */
function checkShardInfo(m: Manifest, bad: (what: string) => never): void {
  const sh = m.shard!;
  if (typeof sh !== "object" || sh === null) bad("'shard' must be an object");
  for (const k of ["index", "first_sample", "n_samples", "n_tokens", "total_samples", "total_tokens"] as const) {
    if (!isInt(sh[k])) bad(`shard.${k} must be a non-negative integer, got ${JSON.stringify(sh[k])}`);
  }
  if (!isInt(sh.count, 1) || sh.index >= sh.count) bad(`shard ${sh.index}/${sh.count}: the index must be in 0..count-1`);
  if (sh.first_sample + sh.n_samples > sh.total_samples || sh.n_tokens > sh.total_tokens) {
    bad(`shard ${sh.index}/${sh.count}: sequences ${sh.first_sample}..${sh.first_sample + sh.n_samples - 1} lie outside the run's ${sh.total_samples}`);
  }
  if (m.n_samples > sh.n_samples || m.n_tokens > sh.n_tokens) {
    bad(`holds ${m.n_samples} sequences of ${m.n_tokens} tokens, more than its shard's ${sh.n_samples} of ${sh.n_tokens}`);
  }
  if (sh.documents !== undefined) {
    if (!Array.isArray(sh.documents) || !sh.documents.every((d) => isInt(d)) || new Set(sh.documents).size !== sh.documents.length) {
      bad("shard.documents must be a list of distinct non-negative integers");
    }
  }
  if (m.complete && (m.n_samples !== sh.n_samples || m.n_tokens !== sh.n_tokens)) {
    bad(`is complete with ${m.n_samples} sequences of ${m.n_tokens} tokens, but its shard has ${sh.n_samples} of ${sh.n_tokens}`);
  }
}
