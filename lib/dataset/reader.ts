/**
 * HiddenStateDataset: reads hidden states row by row from disk, in either layout:
 *  - the project's own format (manifest.json + shards/NNNNN/state_XX.npy), written by
 *    HiddenStateWriter;
 *  - the original notebook's layout, `block{b}/s{i}.npy` or `.safetensors`, one [tokens, d_model]
 *    matrix per state b and sample i.
 * Nothing is loaded at open time beyond file headers; rows are read with positioned reads.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { readNpyInt32 } from "../io/npy";
import { readManifest } from "./manifest";
import { orderShards } from "./shard-list";
import { listOriginalSampleFiles, npySource, originalSource, type RowSource } from "./sources";
import type { StateChunk } from "../numerics/state-chunk";
import {
  MANIFEST_FILE,
  TAGS_FILE,
  TOKEN_IDS_FILE,
  stateFileName,
  type DatasetModelInfo,
  type Manifest,
  type SampleInfo,
} from "./types";

/** A stretch of tokens stored together (a shard, or one sample of the original layout). */
interface Piece {
  tokenOffset: number;
  nTokens: number;
  /** One source per state. */
  states: RowSource[];
  /** Folder of a shard (own format), for token ids and tags. */
  shardDir?: string;
  hasTags?: boolean;
}

/** The two on-disk layouts `HiddenStateDataset` reads: this project's manifest + shards, or the original notebook's files. */
export type DatasetLayout = "linearity-lab" | "original";

interface DatasetInit {
  dir: string;
  /** The dataset folders: one, or the shard datasets in shard order. */
  dirs: string[];
  layout: DatasetLayout;
  nStates: number;
  nLayers: number;
  stateNames?: readonly string[];
  dModel: number;
  dtype: string;
  model: DatasetModelInfo;
  complete: boolean;
  samples: SampleInfo[];
  pieces: Piece[];
  manifest?: Manifest;
  extra?: Record<string, unknown>;
  shardCount?: number;
}

export type { StateChunk };

/** A hidden-state dataset on disk (either layout), read lazily: states as `[tokens, d_model]`, in row chunks, or as tensors. See docs/dataset-format.md. */
export class HiddenStateDataset {
  /** The folder, or for a list of shard datasets their folders joined by " + ". */
  readonly dir: string;
  /** The dataset folders read: one, or the shard datasets in shard order (0/N first). */
  readonly dirs: readonly string[];
  /** For a list of shard datasets, N; undefined for one folder. */
  readonly shardCount?: number;
  readonly layout: DatasetLayout;
  /** n_layers + 1 hidden states, or one per entry of stateNames. */
  readonly nStates: number;
  /** Blocks of the model (nStates - 1 for the original layout, which does not record it). */
  readonly nLayers: number;
  /**
   * Names of the states when they are sublayer points rather than the n_layers + 1 hidden
   * states (`embed`, `blocks.0.resid_mid`, ...; see `linearity extract --points`).
   */
  readonly stateNames?: readonly string[];
  readonly dModel: number;
  readonly nTokens: number;
  /** Stored element type, e.g. "float16". */
  readonly dtype: string;
  readonly model: DatasetModelInfo;
  /** False while a writer is still running or after it was interrupted (always true for the original layout). */
  readonly complete: boolean;
  readonly samples: readonly SampleInfo[];
  /** The parsed manifest (own format, one folder only; a list of shards has one per folder). */
  readonly manifest?: Manifest;
  /** The extraction details (manifest.extra; the same in every shard of a list). */
  readonly extra?: Record<string, unknown>;
  private readonly pieces: Piece[];

  private constructor(init: DatasetInit) {
    this.dir = init.dir;
    this.dirs = init.dirs;
    this.shardCount = init.shardCount;
    this.layout = init.layout;
    this.nStates = init.nStates;
    this.nLayers = init.nLayers;
    this.stateNames = init.stateNames;
    this.dModel = init.dModel;
    this.dtype = init.dtype;
    this.model = init.model;
    this.complete = init.complete;
    this.samples = init.samples;
    this.pieces = init.pieces;
    this.manifest = init.manifest;
    this.extra = init.extra;
    const last = init.pieces[init.pieces.length - 1];
    this.nTokens = last === undefined ? 0 : last.tokenOffset + last.nTokens;
  }

  /**
   * Open a dataset folder. A folder with manifest.json is read as the project's format; one with
   * `block0/` as the original layout. File headers are checked now (shapes, dtypes, sizes), so
   * later reads fail only if files change underneath.
   *
   * A list of folders is read as one dataset: they must be the shard datasets of one extraction
   * (`linearity extract --shard I/N`, all N of them, complete, in any order; see shard-list.ts),
   * and the result holds their sequences in shard order, the unsharded run's order.
   */
  static open(dir: string | readonly string[]): HiddenStateDataset {
    if (typeof dir !== "string") return dir.length === 1 ? HiddenStateDataset.open(dir[0]) : openShardList(dir);
    if (!fs.existsSync(dir)) throw new Error(`${dir}: no such folder`);
    if (!fs.statSync(dir).isDirectory()) throw new Error(`${dir}: not a folder (expected a dataset folder)`);
    if (fs.existsSync(path.join(dir, MANIFEST_FILE))) return openOwn(dir);
    if (fs.existsSync(path.join(dir, "block0"))) return openOriginal(dir);
    throw new Error(`${dir}: not a hidden-state dataset (no ${MANIFEST_FILE} and no block0/ folder)`);
  }

  /** @internal */
  static _create(init: DatasetInit): HiddenStateDataset {
    return new HiddenStateDataset(init);
  }

  /** Whether every token has a part-of-speech tag (tags() returns them). */
  get hasTags(): boolean {
    return this.layout === "linearity-lab" && this.pieces.every((p) => p.hasTags);
  }

  /** Rows `start..end` of state `b`: [end - start, d_model] row-major, read across shards. */
  rows(b: number, start: number, end: number): Float32Array {
    this.checkState(b);
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= this.nTokens)) {
      throw new Error(`${this.dir}: rows ${start}..${end} out of range 0..${this.nTokens}`);
    }
    let k = this.pieceIndex(start);
    const first = this.pieces[k];
    if (first !== undefined && end <= first.tokenOffset + first.nTokens) {
      // Inside one shard (the common case): return the read buffer itself, no extra copy.
      return first.states[b].read(start - first.tokenOffset, end - first.tokenOffset);
    }
    const out = new Float32Array((end - start) * this.dModel);
    let at = start;
    while (at < end) {
      const p = this.pieces[k];
      const localStart = at - p.tokenOffset;
      const localEnd = Math.min(end, p.tokenOffset + p.nTokens) - p.tokenOffset;
      out.set(p.states[b].read(localStart, localEnd), (at - start) * this.dModel);
      at = p.tokenOffset + localEnd;
      k++;
    }
    return out;
  }

  /** State `b` for all tokens: [tokens, d_model] row-major. */
  state(b: number): Float32Array {
    return this.rows(b, 0, this.nTokens);
  }

  /** State `b` for all tokens as a tensor [tokens, d_model] (call initBackend() first; dispose it). */
  stateTensor(b: number): tf.Tensor2D {
    return tf.tensor2d(this.state(b), [this.nTokens, this.dModel]);
  }

  /**
   * Stream the dataset in blocks of rows (default 4096) for the chosen states (default all),
   * so data larger than memory can be processed. The same token range is given for every state.
   */
  *chunks(opts: { rows?: number; states?: number[]; start?: number; end?: number } = {}): Generator<StateChunk> {
    const step = opts.rows ?? 4096;
    if (!Number.isInteger(step) || step < 1) throw new Error(`chunks: rows must be a positive integer, got ${step}`);
    const states = opts.states ?? Array.from({ length: this.nStates }, (_, b) => b);
    states.forEach((b) => this.checkState(b));
    const first = opts.start ?? 0;
    const last = opts.end ?? this.nTokens;
    if (!(Number.isInteger(first) && Number.isInteger(last) && 0 <= first && first <= last && last <= this.nTokens)) {
      throw new Error(`chunks: token range ${first}..${last} out of range 0..${this.nTokens}`);
    }
    for (let start = first; start < last; start += step) {
      const end = Math.min(last, start + step);
      yield { start, rows: end - start, states: states.map((b) => this.rows(b, start, end)) };
    }
  }

  /** Token ids of all tokens (int32 [tokens]); undefined for the original layout. */
  tokenIds(): Int32Array | undefined {
    if (this.layout !== "linearity-lab") return undefined;
    const out = new Int32Array(this.nTokens);
    for (const p of this.pieces) {
      const file = path.join(p.shardDir as string, TOKEN_IDS_FILE);
      const ids = readNpyInt32(file);
      if (ids.shape.length !== 1 || ids.shape[0] !== p.nTokens) {
        throw new Error(`${file}: expected shape [tokens=${p.nTokens}], got [${ids.shape.join(", ")}]`);
      }
      out.set(ids.data, p.tokenOffset);
    }
    return out;
  }

  /** One tag per token (all samples concatenated); undefined unless every sample has tags. */
  tags(): string[] | undefined {
    if (this.layout !== "linearity-lab" || !this.pieces.every((p) => p.hasTags)) return undefined;
    const out: string[] = [];
    for (const p of this.pieces) {
      const file = path.join(p.shardDir as string, TAGS_FILE);
      let perSample: unknown;
      try {
        perSample = JSON.parse(fs.readFileSync(file, "utf8"));
      } catch (err) {
        throw new Error(`${file}: cannot read tags (${(err as Error).message})`);
      }
      if (!Array.isArray(perSample)) throw new Error(`${file}: expected a list of per-sample tag lists`);
      for (const tags of perSample) {
        if (tags === null) return undefined;
        if (!Array.isArray(tags)) throw new Error(`${file}: expected a list of per-sample tag lists`);
        for (const t of tags) out.push(String(t));
      }
      if (out.length !== p.tokenOffset + p.nTokens) {
        throw new Error(`${file}: holds ${out.length - p.tokenOffset} tags for ${p.nTokens} tokens`);
      }
    }
    return out;
  }

  private checkState(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.nStates) {
      throw new Error(`${this.dir}: state ${b} out of range 0..${this.nStates - 1} (the dataset has ${this.nStates} states)`);
    }
  }

  /** Index of the piece holding token `t` (binary search; t == nTokens gives the end). */
  private pieceIndex(t: number): number {
    let lo = 0;
    let hi = this.pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.pieces[mid].tokenOffset <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** The project's own format. */
function openOwn(dir: string): HiddenStateDataset {
  return HiddenStateDataset._create(ownInit(dir, readManifest(dir)));
}

/** A list of shard datasets as one: pieces and samples moved along the token axis, in shard order. */
function openShardList(dirs: readonly string[]): HiddenStateDataset {
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) throw new Error(`${dir}: no such folder (a shard dataset not written yet? rerun its task)`);
    if (!fs.existsSync(path.join(dir, MANIFEST_FILE))) {
      throw new Error(`${dir}: not a shard dataset (no ${MANIFEST_FILE}); a list of datasets must be the shards of one extraction`);
    }
  }
  const ordered = orderShards(dirs.map((dir) => ({ dir, manifest: readManifest(dir) })));
  const parts = ordered.map((e) => ownInit(e.dir, e.manifest));
  const pieces: Piece[] = [];
  const samples: SampleInfo[] = [];
  let tokens = 0;
  for (const part of parts) {
    for (const p of part.pieces) pieces.push({ ...p, tokenOffset: p.tokenOffset + tokens });
    for (const s of part.samples) samples.push({ ...s, offset: s.offset + tokens });
    tokens += part.samples.reduce((n, s) => n + s.nTokens, 0);
  }
  checkDocumentNumbers(ordered, samples);
  const first = parts[0];
  return HiddenStateDataset._create({
    ...first,
    dir: ordered.map((e) => e.dir).join(" + "),
    dirs: ordered.map((e) => e.dir),
    shardCount: ordered.length,
    complete: true,
    samples,
    pieces,
    manifest: undefined,
  });
}

/**
 * Each shard's `documents` (its documents' numbers in the unsharded run) must be the numbering
 * the joined samples give (order of first appearance), or per-document groups would differ
 * between the shards and the whole.
 */
function checkDocumentNumbers(ordered: readonly { dir: string; manifest: Manifest }[], samples: readonly SampleInfo[]): void {
  const numberOf = new Map<string, number>();
  for (const s of samples) if (s.source !== undefined && !numberOf.has(s.source)) numberOf.set(s.source, numberOf.size);
  for (const { dir, manifest } of ordered) {
    const want = manifest.shard?.documents;
    if (want === undefined) continue;
    const got: number[] = [];
    for (const s of manifest.samples) {
      const n = s.source === undefined ? undefined : numberOf.get(s.source);
      if (n !== undefined && !got.includes(n)) got.push(n);
    }
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(`${dir}: shard.documents ${JSON.stringify(want)} does not match its documents' order in the joined shards ${JSON.stringify(got)}`);
    }
  }
}

function ownInit(dir: string, m: Manifest): DatasetInit {
  const pieces: Piece[] = m.shards.map((sh) => {
    const shardDir = path.join(dir, sh.dir);
    const states: RowSource[] = [];
    for (let b = 0; b < m.n_states; b++) {
      const src = npySource(path.join(shardDir, stateFileName(b)));
      if (src.rows !== sh.n_tokens || src.dModel !== m.d_model) {
        throw new Error(`${src.file}: expected shape [tokens=${sh.n_tokens}, d_model=${m.d_model}], got [${src.rows}, ${src.dModel}]`);
      }
      states.push(src);
    }
    return { tokenOffset: sh.token_offset, nTokens: sh.n_tokens, states, shardDir, hasTags: sh.has_tags };
  });
  return {
    dir,
    dirs: [dir],
    layout: "linearity-lab",
    nStates: m.n_states,
    nLayers: m.n_layers,
    stateNames: m.state_names,
    dModel: m.d_model,
    dtype: m.dtype,
    model: m.model,
    complete: m.complete,
    samples: m.samples.map((s) => ({
      nTokens: s.n_tokens,
      offset: s.offset,
      ...(s.text !== undefined ? { text: s.text } : {}),
      ...(s.source !== undefined ? { source: s.source } : {}),
    })),
    pieces,
    manifest: m,
    extra: m.extra,
  };
}

/** The original notebook's layout: block{b}/s{i}.npy|.safetensors. */
function openOriginal(dir: string): HiddenStateDataset {
  const blocks: string[] = [];
  while (fs.existsSync(path.join(dir, `block${blocks.length}`))) blocks.push(path.join(dir, `block${blocks.length}`));
  const extra = fs.readdirSync(dir).filter((n) => /^block\d+$/.test(n) && Number(n.slice(5)) >= blocks.length);
  if (extra.length > 0) throw new Error(`${dir}: block folders must be block0..block${blocks.length - 1} with no gap; found ${extra[0]}`);
  if (blocks.length < 2) throw new Error(`${dir}: the original layout needs at least two block folders (block0, block1)`);
  const files = blocks.map(listOriginalSampleFiles);
  const nSamples = files[0].length;
  if (nSamples === 0) throw new Error(`${blocks[0]}: no s{i}.npy or s{i}.safetensors files`);
  files.forEach((f, b) => {
    if (f.length !== nSamples) throw new Error(`${blocks[b]}: has ${f.length} samples but block0 has ${nSamples}`);
  });
  const sources = files.map((f) => f.map(originalSource)); // [state][sample]
  const dModel = sources[0][0].dModel;
  const pieces: Piece[] = [];
  const samples: SampleInfo[] = [];
  let offset = 0;
  for (let i = 0; i < nSamples; i++) {
    const rows = sources[0][i].rows;
    for (let b = 0; b < blocks.length; b++) {
      const s = sources[b][i];
      if (s.dModel !== dModel) throw new Error(`${s.file}: d_model is ${s.dModel} but ${sources[0][0].file} has ${dModel}`);
      if (s.rows !== rows) throw new Error(`${s.file}: has ${s.rows} tokens but ${sources[0][i].file} has ${rows}`);
    }
    if (rows === 0) throw new Error(`${sources[0][i].file}: sample has no tokens`);
    pieces.push({ tokenOffset: offset, nTokens: rows, states: sources.map((perSample) => perSample[i]) });
    samples.push({ nTokens: rows, offset, source: path.relative(dir, sources[0][i].file) });
    offset += rows;
  }
  return HiddenStateDataset._create({
    dir,
    dirs: [dir],
    layout: "original",
    nStates: blocks.length,
    nLayers: blocks.length - 1,
    dModel,
    dtype: sources[0][0].dtype,
    model: { name: path.basename(path.resolve(dir)), family: "unknown", n_layers: blocks.length - 1, d_model: dModel },
    complete: true,
    samples,
    pieces,
  });
}
