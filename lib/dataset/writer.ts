/**
 * HiddenStateWriter: a resumable, crash-safe writer of the project's hidden-state format.
 *
 * Each append() writes one shard: every file goes into a temporary folder, which is renamed to
 * `shards/NNNNN` once complete, and only then is the shard listed in manifest.json (itself
 * replaced atomically). If the process dies at any point, the manifest still describes a valid
 * dataset made of the shards committed before; reopening the writer removes the leftovers of the
 * interrupted shard and continues after `committedSamples`.
 */
import * as fs from "fs";
import * as path from "path";
import { fsyncDir, tempPathFor, writeFileAtomic } from "../io/atomic";
import { fsError, mkdirp } from "../io/errors";
import { processExists } from "../io/process";
import { encodeF16Checked } from "../io/f16";
import { Float16Batch, refuseForFloat16 } from "./float16-batch";
import { npyHeaderBytes, writeNpyEncoded, type NpyDtype } from "../io/npy";
import { nativeFiles } from "../native/blas";
import { freshBuffer } from "../native/fresh-buffer";
import { checkFinite } from "../numerics/check";
import { readManifest } from "./manifest";
import {
  FORMAT_NAME,
  FORMAT_VERSION,
  MANIFEST_FILE,
  SHARDS_DIR,
  TAGS_FILE,
  TOKEN_IDS_FILE,
  shardDirName,
  stateFileName,
  type DatasetModelInfo,
  type Manifest,
  type SampleInput,
  type ShardInfo,
  type StoredDtype,
} from "./types";

/** What a new dataset records: the model, the stored dtype, free-form `extra` provenance and optional state names. */
export interface WriterInit {
  model: DatasetModelInfo;
  dtype: StoredDtype;
  /** Free-form details of the extraction, stored as manifest.extra when the dataset is created. */
  extra?: Record<string, unknown>;
  /**
   * Names of the states when they are not the n_layers + 1 hidden states (sublayer points,
   * see Manifest.state_names); n_states is then their number.
   */
  stateNames?: readonly string[];
  /** Which share of an extraction this dataset holds (`extract --shard I/N`); stored as manifest.shard. */
  shard?: ShardInfo;
}

/** An append checked and encoded, not yet on disk: each file as [name, dtype, shape, body bytes]. */
interface PreparedShard {
  samples: SampleInput[];
  tokens: number;
  tagged: number;
  files: [string, NpyDtype, number[], ArrayBufferView][];
}

/** Appends samples and their states to a dataset folder, one shard per call, resumable; `finish()` marks it complete. */
export class HiddenStateWriter {
  readonly dir: string;
  private manifest: Manifest;
  private finished = false;
  /**
   * The float16 bits of every state of an append, state after state, reused from append to
   * append: a fresh buffer per batch cost more in first-touch page faults than the conversion
   * itself (11 us per 4 KiB page on the virtual machines this project is measured on). Grown when
   * a batch needs more.
   */
  private encoded = new Uint16Array(0);
  /**
   * The buffers of batches encoded as they are computed ({@link float16Batch}): two, so that one
   * fills while the other's shard is written.
   */
  private readonly batchBuffers = [new Uint16Array(0), new Uint16Array(0)];
  /**
   * The append whose files are being written (appendAsync), if any: its tokens, and the buffer of
   * its float16 batch (an append from float32 states has none; those and the writer's own float16
   * buffers are in use too).
   */
  private inWrite: { buffer?: ArrayBufferLike; tokens: number } | undefined;

  private constructor(dir: string, manifest: Manifest) {
    this.dir = dir;
    this.manifest = manifest;
  }

  /**
   * Create a dataset in `dir` (which must be missing or empty), or resume an unfinished one.
   * Resuming requires the same model (name, n_layers, d_model) and dtype; a finished dataset or
   * a folder holding something else is an error.
   */
  static open(dir: string, init: WriterInit): HiddenStateWriter {
    checkInit(init);
    const manifestPath = path.join(dir, MANIFEST_FILE);
    if (fs.existsSync(manifestPath)) {
      const m = readManifest(dir);
      const want = init.model;
      const mismatch: string[] = [];
      if (m.model.name !== want.name) mismatch.push(`model '${m.model.name}' vs '${want.name}'`);
      if (m.n_layers !== want.n_layers) mismatch.push(`n_layers ${m.n_layers} vs ${want.n_layers}`);
      if (m.d_model !== want.d_model) mismatch.push(`d_model ${m.d_model} vs ${want.d_model}`);
      if (m.dtype !== init.dtype) mismatch.push(`dtype ${m.dtype} vs ${init.dtype}`);
      const names = (n: readonly string[] | undefined) => (n === undefined ? "the hidden states" : n.join(","));
      if (names(m.state_names) !== names(init.stateNames)) mismatch.push(`states ${names(m.state_names)} vs ${names(init.stateNames)}`);
      const share = (sh: ShardInfo | undefined) => (sh === undefined ? "none" : JSON.stringify(sh));
      if (share(m.shard) !== share(init.shard)) mismatch.push(`shard ${share(m.shard)} vs ${share(init.shard)}`);
      if (mismatch.length > 0) {
        throw new Error(`${dir}: cannot resume, the existing dataset differs (${mismatch.join(", ")}); choose another folder`);
      }
      if (m.complete) throw new Error(`${dir}: the dataset is already complete; choose another folder to write a new one`);
      const w = new HiddenStateWriter(dir, m);
      w.removeOrphans();
      return w;
    }
    if (fs.existsSync(dir)) {
      if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir}: exists and is not a folder`);
      // This writer's own leftovers (a kill during the first manifest write) are cleaned up below.
      const leftovers = fs.readdirSync(dir).filter((n) => n !== SHARDS_DIR && !isManifestTemp(n));
      if (leftovers.length > 0) {
        throw new Error(`${dir}: folder is not empty and has no ${MANIFEST_FILE} (found ${leftovers.slice(0, 3).join(", ")})`);
      }
    }
    mkdirp(path.join(dir, SHARDS_DIR));
    const now = new Date().toISOString();
    const manifest: Manifest = {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      model: { ...init.model },
      n_layers: init.model.n_layers,
      n_states: init.stateNames?.length ?? init.model.n_layers + 1,
      ...(init.stateNames !== undefined ? { state_names: [...init.stateNames] } : {}),
      d_model: init.model.d_model,
      dtype: init.dtype,
      complete: false,
      n_samples: 0,
      n_tokens: 0,
      samples: [],
      shards: [],
      ...(init.extra !== undefined ? { extra: init.extra } : {}),
      ...(init.shard !== undefined ? { shard: { ...init.shard } } : {}),
      created: now,
      updated: now,
    };
    const w = new HiddenStateWriter(dir, manifest);
    w.removeOrphans(); // a shards/ folder left by a crash before the first manifest write
    w.writeManifest();
    return w;
  }

  /** Samples safely on disk: an extractor resumes with sample number `committedSamples`. */
  get committedSamples(): number {
    return this.manifest.samples.length;
  }

  /** Tokens safely on disk (rows of every state). */
  get committedTokens(): number {
    return this.manifest.n_tokens;
  }

  /**
   * Whether an {@link appendAsync} reads the states it was given until it settles (float32: they
   * are written as they are). Float16 states are encoded into the writer's own buffers before
   * appendAsync returns its promise, so their arrays are free for the next batch at once.
   */
  get holdsStatesWhileWriting(): boolean {
    return this.manifest.dtype === "float32";
  }

  /** Width of every state (the model's d_model). */
  get dModel(): number {
    return this.manifest.d_model;
  }

  /** Number of states per token (n_layers + 1, or the number of state names). */
  get nStates(): number {
    return this.manifest.n_states;
  }

  /**
   * Append samples and their hidden states as one shard.
   * `states` holds n_layers + 1 buffers, each [tokens, d_model] row-major, where `tokens` is the
   * total of the samples' token counts (samples concatenated in order).
   */
  append(samples: SampleInput[], states: Float32Array[] | Float16Batch): void {
    const shard = this.prepare(samples, states);
    if (shard === undefined) return;
    const temp = this.startShard(shard);
    try {
      for (const [file, dtype, shape, body] of shard.files) writeNpyEncoded(path.join(temp, file), dtype, shape, body, { inPublishedFolder: true });
      fsyncDir(temp);
    } catch (err) {
      fs.rmSync(temp, { recursive: true, force: true });
      throw err;
    }
    this.publish(shard, temp);
  }

  /**
   * {@link append}, with the shard's files written and fsynced on a thread of libuv's pool
   * (native/files.c) while the caller goes on: `linearity extract` runs the next forward pass in
   * the meantime. The states and the writer's float16 buffers must not change until it settles,
   * and appends wait for each other (a second call before the first settles is refused). Without
   * the native addon the files are written before it returns, as {@link append} does.
   */
  async appendAsync(samples: SampleInput[], states: Float32Array[] | Float16Batch): Promise<void> {
    const writeShardFiles = nativeFiles()?.writeShardFiles;
    if (writeShardFiles === undefined) return this.append(samples, states);
    const shard = this.prepare(samples, states, "appendAsync");
    if (shard === undefined) return;
    const temp = this.startShard(shard);
    this.inWrite = { buffer: states instanceof Float16Batch ? states.buffer.buffer : undefined, tokens: shard.tokens };
    try {
      await writeShardFiles(temp, shard.files.map(([file, dtype, shape, body]) => [path.join(temp, file), npyHeaderBytes(dtype, shape), body]));
    } catch (err) {
      fs.rmSync(temp, { recursive: true, force: true });
      const file = (err as { path?: string }).path ?? temp;
      throw fsError(file, err, "write");
    } finally {
      this.inWrite = undefined;
    }
    this.publish(shard, temp);
  }

  /** Check an append's input (`caller` names it in errors) and encode its states; undefined for zero samples. Nothing on disk changes. */
  private prepare(samples: SampleInput[], states: Float32Array[] | Float16Batch, caller = "append"): PreparedShard | undefined {
    if (this.finished) throw new Error(`${this.dir}: append after finish()`);
    if (this.inWrite !== undefined) throw new Error(`${this.dir}: ${caller} while an earlier append is still being written`);
    const m = this.manifest;
    if (samples.length === 0) {
      if (states instanceof Float16Batch || states.some((s) => s.length > 0)) throw new Error("append: states given for zero samples");
      return undefined;
    }
    // Validate everything before touching the disk.
    let tokens = 0;
    let tagged = 0;
    samples.forEach((s, i) => {
      if (!(s.tokenIds instanceof Int32Array)) throw new Error(`append: samples[${i}].tokenIds must be an Int32Array`);
      if (s.tokenIds.length === 0) throw new Error(`append: samples[${i}] has no tokens`);
      if (s.tags !== undefined) {
        if (s.tags.length !== s.tokenIds.length) {
          throw new Error(`append: samples[${i}] has ${s.tags.length} tags for ${s.tokenIds.length} tokens`);
        }
        tagged++;
      }
      tokens += s.tokenIds.length;
    });
    if (states instanceof Float16Batch) {
      // Encoded and checked as they were put (lib/dataset/float16-batch.ts).
      if (m.dtype !== "float16") throw new Error(`append: a float16 batch given to a ${m.dtype} dataset`);
      if (states.nStates !== m.n_states || states.dModel !== m.d_model || states.tokens !== tokens) {
        throw new Error(`append: the float16 batch holds ${states.nStates} states of [${states.tokens}, ${states.dModel}], expected ${m.n_states} of [tokens=${tokens}, d_model=${m.d_model}]`);
      }
      return this.shardFiles(samples, tokens, tagged, states.states());
    }
    if (states.length !== m.n_states) {
      throw new Error(`append: expected ${m.n_states} states (${m.state_names === undefined ? "n_layers + 1" : "one per state name"}), got ${states.length}`);
    }
    // The bytes of each state file: the states themselves (float32), or their float16 bits
    // converted and checked in one read (encodeF16Checked).
    const bodies = states.map((buf, b): ArrayBufferView => {
      if (!(buf instanceof Float32Array)) throw new Error(`append: state ${b} must be a Float32Array`);
      if (buf.length !== tokens * m.d_model) {
        throw new Error(
          `append: state ${b} expected shape [tokens=${tokens}, d_model=${m.d_model}] (${tokens * m.d_model} values), got ${buf.length} values`,
        );
      }
      if (m.dtype === "float32") {
        checkFinite("append", `state ${b}`, buf, m.d_model, m.n_tokens);
        return buf;
      }
      const out = this.encodeBuffer(b, buf.length);
      const bad = encodeF16Checked(buf, out);
      if (bad >= 0) refuseForFloat16(buf, b, bad, m.d_model, m.n_tokens);
      return out;
    });
    return this.shardFiles(samples, tokens, tagged, bodies);
  }

  /** The files of a checked append: each state's body, then the token ids. */
  private shardFiles(samples: SampleInput[], tokens: number, tagged: number, bodies: ArrayBufferView[]): PreparedShard {
    const m = this.manifest;
    const ids = new Int32Array(tokens);
    let at = 0;
    for (const s of samples) {
      ids.set(s.tokenIds, at);
      at += s.tokenIds.length;
    }
    const files: PreparedShard["files"] = bodies.map((body, b) => [stateFileName(b), m.dtype, [tokens, m.d_model], body]);
    files.push([TOKEN_IDS_FILE, "int32", [tokens], ids]);
    return { samples, tokens, tagged, files };
  }

  /** Make the shard's temporary folder and write its tags file there (small, synchronous); returns the folder. */
  private startShard(shard: PreparedShard): string {
    const temp = tempPathFor(path.join(this.dir, shardDirName(this.manifest.shards.length)));
    fs.mkdirSync(temp);
    if (shard.tagged > 0) {
      try {
        writeFileAtomic(path.join(temp, TAGS_FILE), JSON.stringify(shard.samples.map((s) => s.tags ?? null)));
      } catch (err) {
        fs.rmSync(temp, { recursive: true, force: true });
        throw err;
      }
    }
    return temp;
  }

  /** Rename the written temporary folder into place and commit the shard to the manifest. */
  private publish(shard: PreparedShard, temp: string): void {
    const m = this.manifest;
    const { samples, tokens, tagged } = shard;
    const rel = shardDirName(m.shards.length);
    const final = path.join(this.dir, rel);
    try {
      // An orphan of an earlier, interrupted attempt at this shard may hold the name: replace it.
      fs.rmSync(final, { recursive: true, force: true });
      fs.renameSync(temp, final);
      fsyncDir(path.dirname(final));
    } catch (err) {
      fs.rmSync(temp, { recursive: true, force: true });
      throw err;
    }

    // Commit: list the shard and its samples in the manifest.
    const next: Manifest = {
      ...m,
      samples: [...m.samples],
      shards: [
        ...m.shards,
        {
          dir: rel,
          sample_offset: m.samples.length,
          token_offset: m.n_tokens,
          n_samples: samples.length,
          n_tokens: tokens,
          has_tags: tagged > 0,
        },
      ],
    };
    let offset = m.n_tokens;
    for (const s of samples) {
      next.samples.push({
        n_tokens: s.tokenIds.length,
        offset,
        ...(s.text !== undefined ? { text: s.text } : {}),
        ...(s.source !== undefined ? { source: s.source } : {}),
      });
      offset += s.tokenIds.length;
    }
    next.n_samples = next.samples.length;
    next.n_tokens = offset;
    this.manifest = next;
    this.writeManifest();
  }

  /**
   * Make the float16 buffers hold `values` values per state before the states arrive: call it
   * before computing a batch of that size, and their pages are faulted in off this thread while
   * it runs (lib/native/fresh-buffer.ts). Nothing to do for float32 datasets.
   */
  reserve(values: number): void {
    if (this.manifest.dtype === "float16") this.encodeBuffer(0, values);
  }

  /**
   * State `b`'s float16 buffer for `length` values: a view of the one buffer of all states (one
   * mapping, faulted in off this thread when new), kept from earlier appends.
   */
  private encodeBuffer(b: number, length: number): Uint16Array {
    const total = this.manifest.n_states * length;
    if (this.encoded.length < total) this.encoded = freshBuffer(Uint16Array, total);
    return this.encoded.subarray(b * length, (b + 1) * length);
  }

  /**
   * A batch of `tokens` tokens whose float16 states are put as they are computed (see
   * lib/dataset/float16-batch.ts), then given to {@link appendAsync}. Its buffer is not the one an
   * append still being written uses, so the next batch can fill while a shard is written; its
   * pages are faulted in off this thread when new. Float16 datasets only.
   */
  float16Batch(tokens: number): Float16Batch {
    const m = this.manifest;
    if (m.dtype !== "float16") throw new Error(`${this.dir}: float16Batch on a ${m.dtype} dataset`);
    if (!(Number.isSafeInteger(tokens) && tokens > 0)) throw new Error(`float16Batch: tokens must be a positive integer, got ${tokens}`);
    const values = m.n_states * tokens * m.d_model;
    const i = this.batchBuffers[0].buffer === this.inWrite?.buffer ? 1 : 0;
    if (this.batchBuffers[i].length < values) this.batchBuffers[i] = freshBuffer(Uint16Array, values);
    // Its first token's row once the append in flight (if any) is committed.
    return new Float16Batch(this.batchBuffers[i].subarray(0, values), m.n_states, tokens, m.d_model, m.n_tokens + (this.inWrite?.tokens ?? 0));
  }

  /** Mark the dataset complete. Further appends are refused. */
  finish(): void {
    if (this.finished) return;
    this.manifest = { ...this.manifest, complete: true };
    this.writeManifest();
    this.finished = true;
  }

  private writeManifest(): void {
    this.manifest.updated = new Date().toISOString();
    writeFileAtomic(path.join(this.dir, MANIFEST_FILE), JSON.stringify(this.manifest, null, 1) + "\n");
  }

  /**
   * Delete shard folders and temp files that the manifest does not list (an interrupted append).
   * Temp files and folders named after a process that is still running (another writer's
   * shard in progress) are left alone; extract's lock (io/lock.ts) keeps such a writer out.
   */
  private removeOrphans(): void {
    const shardsDir = path.join(this.dir, SHARDS_DIR);
    if (!fs.existsSync(shardsDir)) {
      fs.mkdirSync(shardsDir, { recursive: true });
      return;
    }
    const listed = new Set(this.manifest.shards.map((s) => path.basename(s.dir)));
    for (const name of fs.readdirSync(shardsDir)) {
      if (!listed.has(name) && !isLiveTemp(name)) fs.rmSync(path.join(shardsDir, name), { recursive: true, force: true });
    }
    for (const name of fs.readdirSync(this.dir)) {
      if (isManifestTemp(name) && !isLiveTemp(name)) fs.rmSync(path.join(this.dir, name), { force: true });
    }
  }
}

/**
 * True when `dir` holds a dataset of this writer, or only what a writer killed before its first
 * manifest write leaves (shards/ and manifest temp files): a folder {@link HiddenStateWriter.open}
 * resumes or cleans up rather than refuses.
 */
export function isWriterFolder(dir: string): boolean {
  if (fs.existsSync(path.join(dir, MANIFEST_FILE))) return true;
  try {
    return fs.readdirSync(dir).every((n) => n === SHARDS_DIR || isManifestTemp(n));
  } catch {
    return false;
  }
}

/** A temp name (see tempPathFor) of another process that is still running. */
function isLiveTemp(name: string): boolean {
  const m = /\.tmp-(\d+)(?:-[0-9a-z]+)?$/.exec(name);
  if (m === null) return false;
  const pid = Number(m[1]);
  return pid !== process.pid && processExists(pid);
}

/** A temp file of an interrupted manifest write (see tempPathFor). */
function isManifestTemp(name: string): boolean {
  return name.startsWith(`.${MANIFEST_FILE}.tmp-`);
}

function checkInit(init: WriterInit): void {
  const m = init?.model;
  if (m === undefined || typeof m.name !== "string" || m.name === "") throw new Error("HiddenStateWriter.open: model.name is required");
  if (!Number.isInteger(m.n_layers) || m.n_layers < 1) {
    throw new Error(`HiddenStateWriter.open: model.n_layers must be a positive integer, got ${m.n_layers}`);
  }
  if (!Number.isInteger(m.d_model) || m.d_model < 1) {
    throw new Error(`HiddenStateWriter.open: model.d_model must be a positive integer, got ${m.d_model}`);
  }
  const names = init.stateNames;
  if (names !== undefined && (names.length < 2 || new Set(names).size !== names.length || names.some((n) => n === ""))) {
    throw new Error("HiddenStateWriter.open: stateNames must be at least 2 distinct non-empty names");
  }
  if (init.dtype !== "float16" && init.dtype !== "float32") {
    throw new Error(`HiddenStateWriter.open: dtype must be "float16" or "float32", got ${JSON.stringify(init.dtype)}`);
  }
}
