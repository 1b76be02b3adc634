/**
 * Open a local Hugging Face checkpoint folder: config.json plus model.safetensors, or shards
 * listed in model.safetensors.index.json, every tensor name and shape checked against the config
 * before any weight is read ({@link openCheckpoint}); {@link loadModel} then reads every weight
 * (F32, F16 and BF16 become float32 tensors) into a whole, resident model. Streaming runs read
 * the same opened checkpoint block by block (lib/models/stream/).
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { readJsonFile } from "../io/json";
import { readSafetensors, type SafetensorsTensor } from "../io/safetensors";
import { declaredBlockCount, normalizeHfConfig, SUPPORTED_MODEL_TYPES, type DecoderConfig } from "./config";
import { checkCheckpoint, parseBlockName, type ModelFamily } from "./family";
import { linearBlocks, specWithLinearBlocks } from "./linear-blocks";
import { FAMILIES } from "./registry";
import type { Model } from "./types";
import type { WeightSpec } from "./weights";
import { defaultMemoryBudget, parseMemorySize } from "./stream/memory";
import { planModel, WASM_HEAP_USABLE, type MemoryPlan, type ReadBy, type RunMode } from "./stream/plan";
import { streamedModel } from "./stream/streamed";
import { wholeModel } from "./whole";

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16"]);

/** Parse a JSON file, with errors that name the file (size-capped, no bytes quoted: io/json.ts). */
function readJson(file: string): unknown {
  return readJsonFile(file);
}

/** The safetensors files of a checkpoint folder: one file, or the shards an index names. */
export function weightFiles(dir: string): { files: string[]; index?: Record<string, string> } {
  const single = path.join(dir, "model.safetensors");
  if (fs.existsSync(single)) return { files: [single] };
  const indexPath = path.join(dir, "model.safetensors.index.json");
  if (fs.existsSync(indexPath)) {
    const index = readJson(indexPath) as { weight_map?: unknown };
    const map = index?.weight_map;
    if (typeof map !== "object" || map === null || Object.values(map).some((f) => typeof f !== "string")) {
      throw new Error(`${indexPath}: expected a 'weight_map' object of tensor name -> shard file`);
    }
    const weightMap = map as Record<string, string>;
    for (const f of new Set(Object.values(weightMap))) {
      // A shard name must stay inside the model folder (as `download` requires of the hub's index).
      const rel = path.relative(dir, path.resolve(dir, f));
      if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel) || path.isAbsolute(f)) {
        throw new Error(`${indexPath}: weight_map names ${JSON.stringify(f)}, which is outside the model folder`);
      }
    }
    const files = [...new Set(Object.values(weightMap))].map((f) => path.join(dir, f));
    return { files, index: weightMap };
  }
  for (const name of ["model.safetensors", "model.safetensors.index.json"]) {
    const p = path.join(dir, name);
    let link: string | undefined;
    try {
      if (fs.lstatSync(p).isSymbolicLink()) link = fs.readlinkSync(p);
    } catch {
      // absent: the message below
    }
    if (link !== undefined) throw new Error(`${p}: is a symbolic link to a missing file (${link})`);
  }
  const present = fs.readdirSync(dir).filter((f) => /\.(bin|pt|pth|ckpt|h5|msgpack|safetensors)$/.test(f));
  throw new Error(
    `${dir}: no model.safetensors or model.safetensors.index.json` +
      (present.length ? ` (found ${present.join(", ")}; only safetensors weights can be loaded)` : ""),
  );
}

/** Open every weight file and return checkpoint name -> lazy tensor, refusing duplicates. */
export function openWeights(dir: string): Map<string, SafetensorsTensor> {
  const { files, index } = weightFiles(dir);
  const all = new Map<string, SafetensorsTensor>();
  const fileOf = new Map<string, string>();
  for (const file of files) {
    const st = readSafetensors(file);
    for (const name of st.names) {
      if (all.has(name)) throw new Error(`${file}: tensor '${name}' also appears in ${fileOf.get(name)}`);
      if (index !== undefined && path.join(dir, index[name] ?? "") !== file) {
        throw new Error(`${file}: tensor '${name}' is not listed for this shard in model.safetensors.index.json`);
      }
      all.set(name, st.tensors[name]);
      fileOf.set(name, file);
    }
  }
  if (index !== undefined) {
    const absent = Object.keys(index).filter((n) => !all.has(n));
    if (absent.length) {
      throw new Error(`${dir}: model.safetensors.index.json lists tensors no shard holds: ${absent.slice(0, 8).join(", ")}${absent.length > 8 ? ` and ${absent.length - 8} more` : ""}`);
    }
  }
  return all;
}

/**
 * The config's block count against the blocks the weights hold (names under the family's block
 * prefix), before anything of config size is built: a config.json claiming 5e7 blocks would
 * otherwise cost minutes and gigabytes before the shape check could fail.
 */
function checkBlockCount(dir: string, family: ModelFamily, nLayers: number, names: Iterable<string>): void {
  const blocks = new Set<number>();
  for (const name of names) {
    const b = parseBlockName(family, family.canonicalName(name));
    if (b !== undefined) blocks.add(b.block);
  }
  if (nLayers > blocks.size) {
    const held = blocks.size === 0 ? "no blocks" : `${blocks.size} blocks (${Math.min(...blocks)}..${Math.max(...blocks)})`;
    throw new Error(
      `${path.join(dir, "config.json")}: says n_layers = ${nLayers} but the weights hold ${held}; config.json and the weights do not belong together`,
    );
  }
}

/** normalizeHfConfig, its errors naming the folder's config.json by its path. */
function normalizeAt(dir: string, hfConfig: unknown): DecoderConfig {
  try {
    return normalizeHfConfig(hfConfig);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("config.json")) err.message = path.join(dir, err.message);
    throw err;
  }
}

/** A checkpoint folder opened and checked, no weight read yet. */
export interface OpenedCheckpoint {
  readonly dir: string;
  /** config.json as read. */
  readonly hfConfig: Record<string, unknown>;
  readonly config: DecoderConfig;
  readonly family: ModelFamily;
  /** What the checkpoint holds (the family's spec, with a pruned folder's linear blocks). */
  readonly spec: WeightSpec;
  /** Blocks a pruned folder stores as an affine map (linear-blocks.ts), ascending. */
  readonly linearBlocks: readonly number[];
  /** Canonical name -> lazy tensor, for every weight the family uses (ignored buffers left out). */
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
}

/**
 * Open `dir` (see the file comment). Throws a one-line error for a missing/invalid config.json,
 * an unsupported model_type, missing weight files, non-float weights, or tensors that do not
 * match the config (listing missing, misshaped and unexpected).
 */
export function openCheckpoint(dir: string): OpenedCheckpoint {
  const hfConfig = readJson(path.join(dir, "config.json")) as Record<string, unknown>;
  // The declared block count meets the weights before the config is normalized: its per-block
  // settings are arrays of that length. (undefined: normalizing throws the reason.)
  const declared = declaredBlockCount(hfConfig) ?? normalizeAt(dir, hfConfig).n_layers;
  const opened = openWeights(dir);
  checkBlockCount(dir, FAMILIES[SUPPORTED_MODEL_TYPES[hfConfig.model_type as string]], declared, opened.keys());
  const config = normalizeAt(dir, hfConfig);
  const family = FAMILIES[config.family];

  // Names and shapes first, so a wrong checkpoint fails before any weight is read.
  const linearIdx = linearBlocks(hfConfig, config.n_layers);
  const spec = specWithLinearBlocks(config.family, family.weightSpec(config), linearIdx, config.d_model);
  const format = { canonicalName: family.canonicalName, weightSpec: () => spec };
  checkCheckpoint(format, config, `${dir}: ${config.model_type} checkpoint`, new Map([...opened].map(([n, t]) => [n, t.shape])));
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [raw, t] of opened) {
    const name = family.canonicalName(raw);
    if (!spec.required.has(name) && !spec.optional.has(name)) continue; // ignored buffers
    if (!FLOAT_DTYPES.has(t.dtype)) {
      throw new Error(`${dir}: tensor '${name}' has dtype ${t.dtype}; weights must be F32, F16 or BF16`);
    }
    tensors.set(name, t);
  }
  return { dir, hfConfig, config, family, spec, linearBlocks: linearIdx, tensors };
}

/**
 * Load the checkpoint in `dir` and return a runnable {@link Model}: whole (every weight resident
 * as float32) when it fits half the memory budget (`opts.memory`, bytes or "4G"; default three
 * quarters of the memory available), streamed block by block otherwise (lib/models/stream/), or
 * as `opts.run` says. Errors as {@link openCheckpoint}, and a budget too small for one block.
 * openModel (lib/models/open.ts) adds hub ids, the tokenizer and the memory plan.
 */
export function loadModel(dir: string, opts: { memory?: number | string; run?: RunMode } = {}): Model {
  const ck = openCheckpoint(dir);
  const plan = planFor(ck, opts);
  return plan.mode === "whole" ? wholeModel(ck) : streamedModel(ck, { onUse: plan.onUse });
}

/** The memory plan of an opened checkpoint under `opts.memory` (default: 3/4 of the available memory); `readBy`: see planModel. */
export function planFor(ck: OpenedCheckpoint, opts: { memory?: number | string; run?: RunMode; readBy?: ReadBy } = {}): MemoryPlan {
  const budget = opts.memory === undefined ? defaultMemoryBudget() : parseMemorySize(opts.memory);
  // The 4 GiB wasm heap bounds what one run's tensors can hold; native backends have no such cap.
  return planModel(ck, budget, opts.run ?? "auto", "--memory", tf.getBackend() === "wasm" ? WASM_HEAP_USABLE : Infinity, opts.readBy);
}
