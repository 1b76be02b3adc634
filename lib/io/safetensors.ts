/**
 * safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the raw little-endian tensor bytes (offsets relative to the end of the header).
 *
 * Reading parses and validates the header only; each tensor's bytes are read from disk on first
 * access, so a multi-GB checkpoint is never loaded at once. Writing streams one tensor at a time
 * into a temporary file that is renamed into place when complete.
 */
import * as fs from "fs";
import * as os from "os";
import { nativeMemory } from "../native/blas";
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from "./f16";
import { writeAtomicWith } from "./atomic";
import { describeErrno } from "./errors";

/** BOOL appears as a buffer in some checkpoints (GPT-NeoX's causal-mask `attention.bias`). */
export type SafetensorsDtype = "F16" | "BF16" | "F32" | "F64" | "I32" | "I64" | "BOOL";
export type SafetensorsWriteDtype = "F16" | "BF16" | "F32" | "F64" | "I32" | "BOOL";

const WRITE_DTYPES: readonly SafetensorsWriteDtype[] = ["F16", "BF16", "F32", "F64", "I32", "BOOL"];
const ITEM_SIZE: Record<SafetensorsDtype, number> = { F16: 2, BF16: 2, F32: 4, F64: 8, I32: 4, I64: 8, BOOL: 1 };
/** Every dtype of the format (bytes per element), for layout checks of files this reader cannot decode. */
const FORMAT_ITEM_SIZE: Record<string, number> = {
  ...ITEM_SIZE, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, U32: 4, U64: 8,
};

/** Header entry of one tensor, as stored in the file. */
export interface SafetensorsHeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
}

/** One tensor of an open file. Its bytes are read lazily. */
export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset in the file and byte length. */
  byteOffset: number;
  byteLength: number;
  /** Values as float32 (F16/BF16 decoded exactly; F64/I64 rounded), read on first use and cached. */
  readonly data: Float32Array;
  /** Read the values as float32 again, without caching (use for one-off reads of big tensors). */
  read(): Float32Array;
  /** Read integer tensors (I32, I64 that fit) as Int32Array. */
  readInt32(): Int32Array;
  /** The raw little-endian bytes. */
  readBytes(): Uint8Array;
  /** The raw little-endian bytes, read into `into` (exactly byteLength bytes long): no new memory. */
  readBytesInto(into: Uint8Array): void;
  /**
   * The values of an F32, F16 or BF16 tensor as float32 into `into` (exactly as many values; F16
   * and BF16 decoded exactly, as {@link read}): no memory but `into`. See {@link readFloat32Into}.
   */
  readFloat32Into(into: Float32Array): void;
  /** Read elements `start..end` of the flattened tensor as float32 (e.g. a block of rows). */
  readRange(start: number, end: number): Float32Array;
}

/** An opened .safetensors file: header, metadata and lazily read tensors by name. */
export interface SafetensorsFile {
  path: string;
  /** The parsed JSON header, without `__metadata__`. */
  header: Record<string, SafetensorsHeaderEntry>;
  metadata?: Record<string, string>;
  /** Tensor names in file order (by offset). */
  names: string[];
  tensors: Record<string, SafetensorsTensor>;
}

/** Largest header accepted (as the reference implementation: 100 MB). */
const MAX_HEADER = 100_000_000;

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

/** Read bytes into a fresh Uint8Array (its own buffer from byte 0, so typed views are aligned). */
function readAt(file: string, position: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  readInto(file, position, buf);
  return buf;
}

/** A descriptor of `file` open for reading; a missing or unreadable file is named in the error. */
function openForReading(file: string): number {
  try {
    return fs.openSync(file, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(file, code === "ENOENT" ? "no such file" : `cannot open (${code ?? err})`);
  }
}

/** Fill `buf` from `file` at `position`. */
function readInto(file: string, position: number, buf: Uint8Array): void {
  const length = buf.length;
  const fd = openForReading(file);
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, position + done);
      if (n === 0) fail(file, `unexpected end of file at byte ${position + done}`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Validate one header entry; returns it typed. */
function checkEntry(file: string, name: string, raw: unknown, sizes: Record<string, number> = ITEM_SIZE): SafetensorsHeaderEntry {
  const where = `tensor '${name}'`;
  if (typeof raw !== "object" || raw === null) fail(file, `corrupt safetensors header: ${where} is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string" || !Object.hasOwn(sizes, dtype)) {
    fail(file, `${where} has unsupported dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(sizes).join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(file, `corrupt safetensors header: ${where} has invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[1] < offsets[0]
  ) {
    fail(file, `corrupt safetensors header: ${where} has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const need = (shape as number[]).reduce((a, b) => a * b, 1) * sizes[dtype];
  const span = offsets[1] - offsets[0];
  if (need !== span) {
    fail(
      file,
      `${where}: shape [${(shape as number[]).join(", ")}] ${dtype} needs ${need} bytes but data_offsets span ${span}`,
    );
  }
  return { dtype: dtype as SafetensorsDtype, shape: shape as number[], data_offsets: [offsets[0], offsets[1]] };
}

function toFloat32(dtype: SafetensorsDtype, bytes: Uint8Array, file: string, name: string): Float32Array {
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf);
    case "F16":
      return decodeF16(new Uint16Array(buf));
    case "BF16":
      return decodeBf16(new Uint16Array(buf));
    case "F64":
      return Float32Array.from(new Float64Array(buf));
    case "I32":
      return Float32Array.from(new Int32Array(buf));
    case "I64":
      return Float32Array.from(new BigInt64Array(buf), (v) => Number(v));
    case "BOOL":
      return Float32Array.from(new Uint8Array(buf));
  }
  fail(file, `tensor '${name}': cannot decode dtype ${dtype}`);
}

/** The native reader's code of each dtype it widens (native/read.c). */
const NATIVE_DTYPE: Partial<Record<SafetensorsDtype, number>> = { F32: 0, BF16: 1, F16: 2 };

/**
 * Read the F32 / F16 / BF16 tensor `name` stored at [byteOffset, + byteLength) of `file` into
 * float32 `into`. With the native addon (native/read.c), every core reads a share in small pieces
 * and widens it from cache into `into`. Without it, the stored bits are read into the upper half
 * of `into` and widened in place front to back (element i's 4 bytes end at or before element
 * i+1's 2 stored bytes begin). Either way no memory but `into` is touched, and the values are
 * exactly those of toFloat32.
 */
function readFloat32Into(file: string, name: string, dtype: SafetensorsDtype, byteOffset: number, byteLength: number, into: Float32Array): void {
  const code = NATIVE_DTYPE[dtype];
  if (code === undefined) fail(file, `tensor '${name}' is ${dtype}: readFloat32Into reads F32, F16 and BF16 only`);
  const n = byteLength / ITEM_SIZE[dtype];
  if (into.length !== n) fail(file, `tensor '${name}': readFloat32Into needs ${n} values, got ${into.length}`);
  if (n === 0) return;
  const readFloat32 = nativeMemory()?.readFloat32;
  if (readFloat32 !== undefined) {
    const fd = openForReading(file);
    try {
      const status = readFloat32(fd, byteOffset, code, into, os.availableParallelism());
      if (status === -1) fail(file, `tensor '${name}': unexpected end of file before byte ${byteOffset + byteLength}`);
      if (status !== 0) fail(file, `tensor '${name}': cannot read (${describeErrno(status)})`);
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  if (dtype === "F32") {
    readInto(file, byteOffset, new Uint8Array(into.buffer, into.byteOffset, 4 * n)); // little-endian on disk and here
    return;
  }
  const stored = new Uint8Array(into.buffer, into.byteOffset + 2 * n, 2 * n); // the upper half
  readInto(file, byteOffset, stored);
  const bits = new Uint16Array(into.buffer, into.byteOffset + 2 * n, n);
  if (dtype === "BF16") decodeBf16(bits, into);
  else decodeF16(bits, into);
}

/**
 * The first key of the top-level JSON object that appears twice, if any. `text` is known to be
 * valid JSON, so a scan that tracks strings and nesting depth is enough.
 */
function duplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (/\s/.test(text[j] ?? "")) j++;
      if (text[j] !== ":") continue; // a string value, not a key
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return undefined;
}

/**
 * Open a safetensors file: read and validate its header (dtypes, shapes against offsets, no
 * duplicate names, offsets contiguous from 0 to the end of the file). Tensor data is read only when asked for.
 */
export function readSafetensors(file: string): SafetensorsFile {
  const { header, metadata, names, dataStart } = readLayout(file, ITEM_SIZE);
  return openTensors(file, header, metadata, names, dataStart);
}

/**
 * Check a safetensors file's layout only (header, offsets contiguous from 0 to the end of the
 * file), accepting every dtype of the format, also those this reader cannot decode (U8,
 * F8_E4M3, ...). Throws `<file>: <what is wrong>`. Used to verify downloads.
 */
export function checkSafetensorsLayout(file: string): void {
  readLayout(file, FORMAT_ITEM_SIZE);
}

function readLayout(
  file: string,
  sizes: Record<string, number>,
): { header: Record<string, SafetensorsHeaderEntry>; metadata?: Record<string, string>; names: string[]; dataStart: number } {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(file, code === "ENOENT" ? "no such file" : `cannot open (${code ?? err})`);
  }
  if (fs.statSync(file).isDirectory()) fail(file, "is a folder, not a safetensors file");
  if (size < 8) fail(file, `truncated safetensors file (${size} bytes, no header length)`);
  const n = Number(Buffer.from(readAt(file, 0, 8).buffer).readBigUInt64LE(0));
  if (n > MAX_HEADER) fail(file, `corrupt safetensors header length ${n} (over ${MAX_HEADER} bytes)`);
  if (8 + n > size) fail(file, `truncated safetensors file: header needs ${8 + n} bytes, file has ${size}`);
  const text = Buffer.from(readAt(file, 8, n).buffer).toString("utf8");
  if (!text.startsWith("{")) fail(file, "corrupt safetensors header (does not start with '{')");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(file, `corrupt safetensors header: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(file, "corrupt safetensors header (not a JSON object)");
  }
  // JSON.parse keeps the last of two equal keys; the reference loader ends up refusing such a file.
  const twice = duplicateTopLevelKey(text);
  if (twice !== undefined) fail(file, `corrupt safetensors header: tensor '${twice}' is listed twice`);
  const dataStart = 8 + n;
  const dataSize = size - dataStart;
  const header: Record<string, SafetensorsHeaderEntry> = {};
  let metadata: Record<string, string> | undefined;
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== "string")) {
        fail(file, "corrupt safetensors header: __metadata__ must map strings to strings");
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    header[name] = checkEntry(file, name, raw, sizes);
  }
  // Offsets: sorted, contiguous (no overlap, no gap), inside the data section and filling it,
  // as the format's reference loader requires.
  const names = Object.keys(header).sort(
    (a, b) => header[a].data_offsets[0] - header[b].data_offsets[0] || header[a].data_offsets[1] - header[b].data_offsets[1],
  );
  let prevEnd = 0;
  let prevName = "";
  for (const name of names) {
    const [begin, end] = header[name].data_offsets;
    if (begin < prevEnd) {
      fail(file, `corrupt safetensors header: tensor '${name}' (bytes ${begin}..${end}) overlaps '${prevName}'`);
    }
    if (end > dataSize) {
      fail(
        file,
        `truncated safetensors file: tensor '${name}' ends at data byte ${end} but the file holds ${dataSize} data bytes`,
      );
    }
    if (begin > prevEnd) {
      const after = prevName === "" ? "the data section starts at 0" : `'${prevName}' ends at ${prevEnd}`;
      fail(file, `corrupt safetensors header: tensor '${name}' starts at data byte ${begin} but ${after} (gap)`);
    }
    prevEnd = end;
    prevName = name;
  }
  if (prevEnd !== dataSize) {
    fail(
      file,
      `corrupt safetensors file: ${dataSize - prevEnd} bytes after the last tensor (the header describes ${prevEnd} data bytes, the file holds ${dataSize})`,
    );
  }
  return { header, metadata, names, dataStart };
}

function openTensors(
  file: string,
  header: Record<string, SafetensorsHeaderEntry>,
  metadata: Record<string, string> | undefined,
  names: string[],
  dataStart: number,
): SafetensorsFile {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const name of names) {
    const e = header[name];
    const byteOffset = dataStart + e.data_offsets[0];
    const byteLength = e.data_offsets[1] - e.data_offsets[0];
    const readBytes = () => (byteLength === 0 ? new Uint8Array(0) : readAt(file, byteOffset, byteLength));
    let cached: Float32Array | undefined;
    tensors[name] = {
      name,
      dtype: e.dtype,
      shape: e.shape,
      byteOffset,
      byteLength,
      get data() {
        if (cached === undefined) cached = toFloat32(e.dtype, readBytes(), file, name);
        return cached;
      },
      read: () => toFloat32(e.dtype, readBytes(), file, name),
      readInt32: () => {
        const bytes = readBytes();
        const aligned = bytes.byteOffset === 0 ? bytes : bytes.slice();
        if (e.dtype === "I32") return new Int32Array(aligned.buffer);
        if (e.dtype === "I64") {
          const wide = new BigInt64Array(aligned.buffer);
          const out = new Int32Array(wide.length);
          for (let k = 0; k < wide.length; k++) {
            if (wide[k] > 2147483647n || wide[k] < -2147483648n) {
              fail(file, `tensor '${name}': I64 value ${wide[k]} at index ${k} does not fit in int32`);
            }
            out[k] = Number(wide[k]);
          }
          return out;
        }
        return fail(file, `tensor '${name}' is ${e.dtype}, not an integer tensor`);
      },
      readBytes,
      readBytesInto: (into: Uint8Array) => {
        if (into.length !== byteLength) fail(file, `tensor '${name}': readBytesInto needs ${byteLength} bytes, got ${into.length}`);
        if (byteLength > 0) readInto(file, byteOffset, into);
      },
      readFloat32Into: (into: Float32Array) => readFloat32Into(file, name, e.dtype, byteOffset, byteLength, into),
      readRange: (start: number, end: number) => {
        const count = byteLength / ITEM_SIZE[e.dtype];
        if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= count)) {
          fail(file, `tensor '${name}': elements ${start}..${end} out of range 0..${count}`);
        }
        const size = ITEM_SIZE[e.dtype];
        const bytes = end === start ? new Uint8Array(0) : readAt(file, byteOffset + start * size, (end - start) * size);
        return toFloat32(e.dtype, bytes, file, name);
      },
    };
  }
  return { path: file, header, metadata, names, tensors };
}

/** A tensor to write: float data for F64/F32/F16/BF16 (rounded to nearest even below F64), integers for I32, nonzero = true for BOOL. */
export interface SafetensorsInput {
  dtype: SafetensorsWriteDtype;
  shape: readonly number[];
  /**
   * The values, or a function giving them when the tensor is written (so a file larger than
   * memory can be written one tensor at a time from another file).
   */
  data: Float32Array | Int32Array | ArrayLike<number> | (() => Float32Array | Int32Array | ArrayLike<number>);
}

/** The values of an input, read now when they are lazy. */
function valuesOf(name: string, t: SafetensorsInput): Float32Array | Int32Array | ArrayLike<number> {
  if (typeof t.data !== "function") return t.data;
  const data = t.data();
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`writeSafetensors: tensor '${name}' shape [${t.shape.join(", ")}] holds ${count} values, data has ${data.length}`);
  return data;
}

function encode(name: string, input: SafetensorsInput): ArrayBufferView {
  const t = { dtype: input.dtype, data: valuesOf(name, input) };
  switch (t.dtype) {
    case "F32":
      return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    case "F64":
      return t.data instanceof Float64Array ? t.data : Float64Array.from(t.data);
    case "F16":
      return encodeF16(t.data);
    case "BF16":
      return encodeBf16(t.data);
    case "I32":
      for (let k = 0; k < t.data.length; k++) {
        if (!Number.isInteger(t.data[k]) || Math.abs(t.data[k]) > 2147483648) {
          throw new Error(`writeSafetensors: tensor '${name}' value ${t.data[k]} at index ${k} is not an int32`);
        }
      }
      return t.data instanceof Int32Array ? t.data : Int32Array.from(t.data);
    case "BOOL":
      return Uint8Array.from(t.data as ArrayLike<number>, (v) => (v !== 0 ? 1 : 0));
  }
  throw new Error(`writeSafetensors: tensor '${name}' has unsupported dtype '${(t as { dtype: string }).dtype}'`);
}

/**
 * Write tensors (in the given order) and optional string metadata as a safetensors file,
 * atomically. The JSON header is padded with spaces to a multiple of 8 bytes, as Hugging Face's
 * writer does, so tensor data stays aligned.
 */
export function writeSafetensors(
  file: string,
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new Error(`writeSafetensors: metadata '${k}' must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__") throw new Error("writeSafetensors: '__metadata__' is not a valid tensor name");
    if (!(WRITE_DTYPES as readonly string[]).includes(t.dtype)) {
      throw new Error(`writeSafetensors: tensor '${name}' has unsupported dtype '${t.dtype}'`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`writeSafetensors: tensor '${name}' has invalid shape [${t.shape.join(", ")}]`);
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (typeof t.data !== "function" && count !== t.data.length) {
      throw new Error(
        `writeSafetensors: tensor '${name}' shape [${t.shape.join(", ")}] holds ${count} values, data has ${t.data.length}`,
      );
    }
    const bytes = count * ITEM_SIZE[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, "utf8");
  json += " ".repeat((8 - (jsonBytes % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json, "utf8")));
  writeAtomicWith(file, (w) => {
    w.write(prefix);
    w.write(json);
    // Encode one tensor at a time so peak memory is one tensor's bytes.
    for (const [name, t] of Object.entries(tensors)) w.write(encode(name, t));
  });
}
