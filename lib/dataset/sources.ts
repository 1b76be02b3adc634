/**
 * Row sources: where the rows of one state for one stretch of tokens live on disk, for both
 * layouts the reader understands. Each source reads any row range without loading the rest.
 */
import * as fs from "fs";
import * as path from "path";
import { npyRowReader, openNpy, readNpyRows, readNpyRows64, type NpyHeader } from "../io/npy";
import { readSafetensors, type SafetensorsTensor } from "../io/safetensors";

/** Rows of one state: `read(start, end)` gives [end - start, d_model] row-major float32. */
export interface RowSource {
  readonly file: string;
  readonly rows: number;
  readonly dModel: number;
  /** Stored element type ("float16", "float32", "F16", "BF16", ...). */
  readonly dtype: string;
  read(start: number, end: number): Float32Array;
  /**
   * The same rows as `read`, in a buffer the source reuses: valid until the next `readReused`
   * call (no allocation per chunk). For a consumer that is done with each chunk before the next.
   */
  readReused?(start: number, end: number): Float32Array;
  /** float64 sources only: the rows as float64, unrounded. */
  read64?(start: number, end: number): Float64Array;
}

/** Open a float `.npy` file holding a [rows, d_model] matrix. */
export function npySource(file: string): RowSource {
  const h: NpyHeader = openNpy(file);
  if (h.dtype !== "float16" && h.dtype !== "float32" && h.dtype !== "float64") {
    throw new Error(`${file}: expected a float [tokens, d_model] matrix, got dtype ${h.dtype}`);
  }
  const shape = squeezeLeadingOnes(h.shape);
  if (shape.length !== 2) {
    throw new Error(`${file}: expected shape [tokens, d_model], got [${h.shape.join(", ")}]`);
  }
  // Leading 1-axes (e.g. [batch=1, pos, d_model]) do not change the byte layout.
  const flat: NpyHeader = { ...h, shape };
  return {
    file,
    rows: shape[0],
    dModel: shape[1],
    dtype: h.dtype,
    read: (s, e) => readNpyRows(flat, s, e),
    readReused: npyRowReader(flat),
    ...(h.dtype === "float64" ? { read64: (s: number, e: number) => readNpyRows64(flat, s, e) } : {}),
  };
}

/** Open a safetensors file holding exactly one float [rows, d_model] tensor. */
export function safetensorsSource(file: string): RowSource {
  const f = readSafetensors(file);
  if (f.names.length !== 1) {
    throw new Error(`${file}: expected exactly one tensor, found ${f.names.length} (${f.names.slice(0, 4).join(", ")})`);
  }
  const t: SafetensorsTensor = f.tensors[f.names[0]];
  if (t.dtype === "I32" || t.dtype === "I64") {
    throw new Error(`${file}: tensor '${t.name}' is ${t.dtype}; expected a float [tokens, d_model] matrix`);
  }
  const shape = squeezeLeadingOnes(t.shape);
  if (shape.length !== 2) {
    throw new Error(`${file}: tensor '${t.name}' expected shape [tokens, d_model], got [${t.shape.join(", ")}]`);
  }
  const [rows, dModel] = shape;
  return {
    file,
    rows,
    dModel,
    dtype: t.dtype,
    read: (s, e) => {
      if (!(Number.isInteger(s) && Number.isInteger(e) && 0 <= s && s <= e && e <= rows)) {
        throw new Error(`${file}: rows ${s}..${e} out of range 0..${rows}`);
      }
      return t.readRange(s * dModel, e * dModel);
    },
  };
}

function squeezeLeadingOnes(shape: readonly number[]): number[] {
  const out = [...shape];
  while (out.length > 2 && out[0] === 1) out.shift();
  return out;
}

/** `s{i}.npy` or `s{i}.safetensors` files of one `block{b}` folder, indexed by sample. */
export function listOriginalSampleFiles(blockDir: string): string[] {
  const files: string[] = [];
  const seen = new Map<number, string>();
  for (const name of fs.readdirSync(blockDir)) {
    const m = /^s(\d+)\.(npy|safetensors|pt|pth)$/.exec(name);
    if (!m) continue;
    const full = path.join(blockDir, name);
    if (m[2] === "pt" || m[2] === "pth") {
      throw new Error(
        `${full}: PyTorch pickles cannot be read here; convert each tensor to .npy or .safetensors (see docs/dataset-format.md)`,
      );
    }
    const i = Number(m[1]);
    const prev = seen.get(i);
    if (prev !== undefined) throw new Error(`${blockDir}: sample ${i} appears twice (${prev} and ${name})`);
    seen.set(i, name);
  }
  for (let i = 0; i < seen.size; i++) {
    const name = seen.get(i);
    if (name === undefined) throw new Error(`${blockDir}: sample files must be s0..s${seen.size - 1}; s${i} is missing`);
    files.push(path.join(blockDir, name));
  }
  return files;
}

/** Open one original-layout file by its extension. */
export function originalSource(file: string): RowSource {
  return file.endsWith(".npy") ? npySource(file) : safetensorsSource(file);
}
