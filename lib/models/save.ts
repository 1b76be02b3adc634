/** Write a Hugging Face checkpoint folder: config.json + model.safetensors. */
import * as fs from "fs";
import * as path from "path";
import type * as tf from "@tensorflow/tfjs-core";
import { writeFileAtomic } from "../io/atomic";
import { FLOAT16_MAX, float16Overflow } from "../io/f16";
import { writeSafetensors, type SafetensorsInput } from "../io/safetensors";

/** A weight read only when it is written (e.g. a tensor of another checkpoint), so a folder larger than memory can be saved. */
export interface LazyWeight {
  readonly shape: readonly number[];
  /** The float32 values. */
  read(): Float32Array;
}

/** Weight dtypes a checkpoint can be saved in (safetensors names or torch_dtype names). */
export type SaveDtype = "F32" | "F16" | "BF16" | "float32" | "float16" | "bfloat16";

const SAFETENSORS_DTYPE: Record<SaveDtype, "F32" | "F16" | "BF16"> = {
  F32: "F32", F16: "F16", BF16: "BF16", float32: "F32", float16: "F16", bfloat16: "BF16",
};

/**
 * Save HF-named tensors (HF layout, e.g. from llamaToHf) and a config.json object into `dir`
 * (created if needed). Each file is written to a temporary name and renamed into place, so a
 * crash leaves either the old file or the new one, never a torn one. model.safetensors is
 * written before config.json, so a folder whose config.json is new has its weights complete.
 * F16/BF16 round to nearest even. A {@link LazyWeight} is read only while it is written, one at a time.
 * F16 refuses values beyond its range (±65,504), which it would store as ±Inf; every dtype
 * refuses NaN and ±Inf (the temp file is removed, nothing is published).
 */
export function saveCheckpoint(
  dir: string,
  hfConfig: Record<string, unknown>,
  tensors: Record<string, tf.Tensor | LazyWeight>,
  dtype: SaveDtype = "F32",
): void {
  const st = SAFETENSORS_DTYPE[dtype];
  if (st === undefined) {
    throw new Error(`saveCheckpoint: dtype must be one of ${Object.keys(SAFETENSORS_DTYPE).join(", ")}, got '${dtype}'`);
  }
  if (typeof hfConfig.model_type !== "string") {
    throw new Error("saveCheckpoint: hfConfig has no 'model_type'");
  }
  fs.mkdirSync(dir, { recursive: true });
  const inputs: Record<string, SafetensorsInput> = {};
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    if ("read" in t) {
      inputs[name] = { dtype: st, shape: t.shape, data: () => storable(name, t.read(), st) };
      continue;
    }
    if (t.dtype !== "float32") throw new Error(`saveCheckpoint: tensor '${name}' is ${t.dtype}, expected float32`);
    inputs[name] = { dtype: st, shape: t.shape, data: storable(name, t.dataSync() as Float32Array, st) };
  }
  writeSafetensors(path.join(dir, "model.safetensors"), inputs, { format: "pt" });
  writeFileAtomic(path.join(dir, "config.json"), JSON.stringify(hfConfig, null, 2) + "\n");
}

/** `data`, after refusing NaN / ±Inf, and for F16 values it would store as ±Inf. */
function storable(name: string, data: Float32Array, st: "F32" | "F16" | "BF16"): Float32Array {
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`weight '${name}' holds ${data[bad]} at index ${bad}; a model with non-finite weights is not saved`);
  if (st === "F16") {
    const at = float16Overflow(data);
    if (at >= 0) throw new Error(`weight '${name}' value ${data[at]} at index ${at} overflows float16 (max ${FLOAT16_MAX}); save it as float32 or bfloat16`);
  }
  return data;
}
