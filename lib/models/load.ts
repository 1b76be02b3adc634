/**
 * Load a local Hugging Face checkpoint folder: config.json plus model.safetensors, or shards
 * listed in model.safetensors.index.json. F32, F16 and BF16 weights become float32 tensors.
 * Every tensor name and shape is checked against the config before any weight is read.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { readJsonFile } from "../io/json";
import { readSafetensors, type SafetensorsTensor } from "../io/safetensors";
import { declaredBlockCount, normalizeHfConfig, type DecoderConfig } from "./config";
import { linear } from "./common/matmul";
import { checkCheckpoint } from "./family";
import { linearBlockNames, linearBlocks, parseBlockName, specWithLinearBlocks } from "./linear-blocks";
import { FAMILIES } from "./registry";
import type { Model, StateDict } from "./types";

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
 * The config's block count against the blocks the weights hold (`h.N.` / `layers.N.` names),
 * before anything of config size is built: a config.json claiming 5e7 blocks would otherwise
 * cost minutes and gigabytes before the shape check could fail.
 */
function checkBlockCount(dir: string, nLayers: number, names: Iterable<string>): void {
  const blocks = new Set<number>();
  for (const name of names) {
    const m = /(?:^|\.)(?:h|layers)\.(\d+)\./.exec(name);
    if (m !== null) blocks.add(Number(m[1]));
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

/**
 * Load the checkpoint in `dir` and return a runnable {@link Model}. Throws a one-line error for
 * a missing/invalid config.json, an unsupported model_type, missing weight files, non-float
 * weights, or tensors that do not match the config (listing missing, misshaped and unexpected).
 */
export function loadModel(dir: string): Model {
  const hfConfig = readJson(path.join(dir, "config.json")) as Record<string, unknown>;
  // The declared block count meets the weights before the config is normalized: its per-block
  // settings are arrays of that length. (undefined: normalizing throws the reason.)
  const declared = declaredBlockCount(hfConfig) ?? normalizeAt(dir, hfConfig).n_layers;
  const opened = openWeights(dir);
  checkBlockCount(dir, declared, opened.keys());
  const config = normalizeAt(dir, hfConfig);
  const family = FAMILIES[config.family];

  // Names and shapes first, so a wrong checkpoint fails before any weight is read.
  const handles = new Map<string, SafetensorsTensor>();
  // Blocks a pruned folder stores as an affine map (linear-blocks.ts) replace their usual weights.
  const linearIdx = linearBlocks(hfConfig, config.n_layers);
  const familySpec = family.weightSpec(config);
  const spec = specWithLinearBlocks(config.family, familySpec, linearIdx, config.d_model);
  const format = { canonicalName: family.canonicalName, weightSpec: () => spec };
  checkCheckpoint(format, config, `${dir}: ${config.model_type} checkpoint`, new Map([...opened].map(([n, t]) => [n, t.shape])));
  for (const [name, t] of opened) handles.set(family.canonicalName(name), t);

  // Read the weights the family uses (ignored buffers are skipped) as float32 tensors.
  const sd: StateDict = {};
  try {
    for (const [name, t] of handles) {
      if (!spec.required.has(name) && !spec.optional.has(name)) continue;
      if (!FLOAT_DTYPES.has(t.dtype)) {
        throw new Error(`${dir}: tensor '${name}' has dtype ${t.dtype}; weights must be F32, F16 or BF16`);
      }
      sd[name] = tf.tensor(t.read(), t.shape, "float32");
    }
    if (linearIdx.length === 0) {
      const bound = family.bind(config, sd);
      return { config, hfConfig, weights: bound.weights, forward: bound.forward, stateDict: bound.stateDict, dispose: bound.dispose };
    }
    return bindWithLinearBlocks(config, hfConfig, linearIdx, sd);
  } finally {
    tf.dispose(Object.values(sd));
  }
}

/**
 * Bind a checkpoint whose `linearIdx` blocks are affine maps: resid_post = resid_pre W^T + b, W
 * stored [out, in] like nn.Linear. The family's own tensors of those blocks are absent; zeros
 * stand in for them so the family converter sees a complete checkpoint, and the forward never
 * reads them (a blockOverride computes those blocks). stateDict() gives the folder's tensors back.
 */
function bindWithLinearBlocks(config: DecoderConfig, hfConfig: Record<string, unknown>, linearIdx: number[], sd: StateDict): Model {
  const family = FAMILIES[config.family];
  const affine = new Map<number, { w: tf.Tensor2D; b: tf.Tensor1D }>();
  for (const l of linearIdx) {
    const names = linearBlockNames(config.family, l);
    affine.set(l, { w: tf.transpose(sd[names.weight]) as tf.Tensor2D, b: tf.clone(sd[names.bias]) as tf.Tensor1D });
  }
  const full: StateDict = {};
  const zeros: tf.Tensor[] = [];
  for (const [name, t] of Object.entries(sd)) if (!/\.linear\.(weight|bias)$/.test(name)) full[name] = t;
  for (const [name, shape] of family.weightSpec(config).required) {
    if (!(name in full)) zeros.push((full[name] = tf.zeros([...shape])));
  }
  const bound = family.bind(config, full);
  tf.dispose(zeros);
  const isPlaceholder = (name: string) => affine.has(parseBlockName(config.family, name)?.block ?? -1);
  return {
    config,
    hfConfig,
    weights: bound.weights,
    forward: (ids, opts = {}) =>
      bound.forward(ids, {
        ...opts,
        // A caller's override wins; otherwise linear blocks run their affine map.
        blockOverride: (l, x) => opts.blockOverride?.(l, x) ?? (affine.has(l) ? linear(x, affine.get(l)!.w, affine.get(l)!.b) : undefined),
      }),
    stateDict: () => {
      const out = bound.stateDict();
      for (const name of Object.keys(out)) {
        if (isPlaceholder(name)) {
          out[name].dispose();
          delete out[name];
        }
      }
      for (const [l, { w, b }] of affine) {
        const names = linearBlockNames(config.family, l);
        out[names.weight] = tf.transpose(w);
        out[names.bias] = tf.clone(b);
      }
      return out;
    },
    dispose: () => {
      bound.dispose();
      tf.dispose([...affine.values()].flatMap(({ w, b }) => [w, b]));
    },
  };
}
