/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), C order, little-endian.
 *
 * Supported dtypes: `<f2` (float16), `<f4` (float32), `<f8` (float64), `<i4` (int32),
 * `<i8` (int64, read as int32 when every value fits), `|u1` (uint8). Fortran order, big-endian
 * data and any other dtype are errors that name the file.
 *
 * Besides whole-file {@link readNpy} / {@link writeNpy}, {@link openNpy} parses only the header so
 * rows (the first axis) can be read in chunks with {@link readNpyRows} without loading the file.
 */
import * as fs from "fs";
import { decodeF16, encodeF16 } from "./f16";
import { writeAtomicWith } from "./atomic";
import { fsError } from "./errors";

/** The .npy dtypes read and written (`int64` is read as int32 when every value fits). */
export type NpyDtype = "float16" | "float32" | "float64" | "int32" | "int64" | "uint8";
/** In-memory data: float16 is decoded to Float32Array; int64 is narrowed to Int32Array. */
export type NpyData = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A whole .npy array in memory: dtype, shape and row-major data. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** What {@link openNpy} learns from the header. */
export interface NpyHeader {
  path: string;
  /** The raw descr string, e.g. `<f4`. */
  descr: string;
  dtype: NpyDtype;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
  itemSize: number;
  /** Format version, 1, 2 or 3. */
  version: number;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

const DESCR: Record<string, { dtype: NpyDtype; size: number }> = {
  "<f2": { dtype: "float16", size: 2 },
  "<f4": { dtype: "float32", size: 4 },
  "<f8": { dtype: "float64", size: 8 },
  "<i4": { dtype: "int32", size: 4 },
  "<i8": { dtype: "int64", size: 8 },
  "|u1": { dtype: "uint8", size: 1 },
  "<u1": { dtype: "uint8", size: 1 },
};

const DTYPE_DESCR: Record<NpyDtype, string> = {
  float16: "<f2",
  float32: "<f4",
  float64: "<f8",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
};

const ITEM_SIZE: Record<NpyDtype, number> = {
  float16: 2,
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  uint8: 1,
};

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// Header parsing: the header is a Python dict literal, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// A tiny parser for exactly the literals numpy writes (dict, str, int, tuple, bool).

type PyValue = string | number | boolean | PyValue[] | { [k: string]: PyValue };

/** Deeper nesting than any numpy header needs; refusing it keeps the recursion bounded. */
const MAX_HEADER_DEPTH = 32;

function parsePyLiteral(text: string, file: string): PyValue {
  let i = 0;
  let depth = 0;
  const fail = (what: string): never => {
    throw new Error(`${file}: corrupt .npy header (${what} at character ${i}): ${text.trim()}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if ((c === "{" || c === "(" || c === "[") && ++depth > MAX_HEADER_DEPTH) fail(`nested deeper than ${MAX_HEADER_DEPTH} levels`);
    if (c === "{") {
      i++;
      // No prototype: keys such as '__proto__' or 'constructor' are plain keys here.
      const obj: Record<string, PyValue> = Object.create(null);
      for (;;) {
        ws();
        if (text[i] === "}") {
          i++;
          depth--;
          return obj;
        }
        const key = value();
        if (typeof key !== "string") fail("expected a string key");
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        obj[key as string] = value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") fail("expected ',' or '}'");
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      i++;
      const items: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          depth--;
          return items;
        }
        items.push(value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail("unterminated string");
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|-?\d+)L?/.exec(text.slice(i));
    if (!m) return fail("unexpected token");
    i += m[0].length;
    if (m[1] === "True") return true;
    if (m[1] === "False") return false;
    return Number(m[1]);
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

/** Parse the header bytes at the start of a file (`head` must hold at least the full header). */
function parseHeader(head: Buffer, file: string, fileSize: number): NpyHeader {
  if (head.length < 10 || !head.subarray(0, 6).equals(MAGIC)) {
    throw new Error(`${file}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = head[6];
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = head.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) throw new Error(`${file}: truncated .npy header`);
    headerLen = head.readUInt32LE(8);
    start = 12;
  } else {
    throw new Error(`${file}: unsupported .npy format version ${major}.${head[7]}`);
  }
  const dataOffset = start + headerLen;
  if (dataOffset > fileSize) {
    throw new Error(`${file}: truncated .npy header (needs ${dataOffset} bytes, file has ${fileSize})`);
  }
  if (head.length < dataOffset) throw new Error(`${file}: internal error: header not fully read`);
  const text = head.subarray(start, dataOffset).toString(major === 3 ? "utf8" : "latin1");
  const dict = parsePyLiteral(text, file);
  if (typeof dict !== "object" || Array.isArray(dict)) {
    throw new Error(`${file}: corrupt .npy header (not a dict): ${text.trim()}`);
  }
  const { descr, fortran_order: fortran, shape } = dict as Record<string, PyValue>;
  if (typeof descr !== "string") throw new Error(`${file}: .npy header has no 'descr' string`);
  if (typeof fortran !== "boolean") throw new Error(`${file}: .npy header has no 'fortran_order'`);
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new Error(`${file}: .npy header has no valid 'shape' tuple`);
  }
  if (!Number.isSafeInteger(shapeSize(shape as number[]) * 8)) {
    throw new Error(`${file}: .npy shape [${(shape as number[]).join(", ")}] holds more elements than this reader can address`);
  }
  if (fortran) {
    throw new Error(`${file}: Fortran-order .npy arrays are not supported (save with np.ascontiguousarray)`);
  }
  const known = Object.hasOwn(DESCR, descr) ? DESCR[descr] : undefined;
  if (!known) {
    const hint = descr.startsWith(">") ? " (big-endian data is not supported)" : "";
    throw new Error(
      `${file}: unsupported .npy dtype '${descr}'${hint}; expected one of ${Object.keys(DESCR).join(", ")}`,
    );
  }
  const dims = shape as number[];
  const need = dataOffset + shapeSize(dims) * known.size;
  if (fileSize < need) {
    throw new Error(
      `${file}: truncated .npy data: shape [${dims.join(", ")}] ${descr} needs ${need} bytes, file has ${fileSize}`,
    );
  }
  return {
    path: file,
    descr,
    dtype: known.dtype,
    shape: dims,
    dataOffset,
    itemSize: known.size,
    version: major,
  };
}

function openFd(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`${file}: no such file`);
    if (code === "EISDIR") throw new Error(`${file}: is a folder, not a .npy file`);
    throw fsError(file, err, "open");
  }
  // Linux opens a folder for reading without complaint; the first read would fail with EISDIR.
  if (fs.fstatSync(fd).isDirectory()) {
    fs.closeSync(fd);
    throw new Error(`${file}: is a folder, not a .npy file`);
  }
  return fd;
}

/** Largest finite float32. */
/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * float64 -> float32, refusing finite values that would become ±Infinity (they would otherwise
 * be reported later as an "Infinity" the file does not hold). `first` is the flat index of
 * data[0] in the file and `rowSize` the elements per row, for the message.
 */
function narrowFloat64(data: Float64Array, file: string, rowSize: number, first = 0): Float32Array {
  const out = Float32Array.from(data);
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(out[k]) && Number.isFinite(data[k])) {
      const at = first + k;
      const row = rowSize > 0 ? Math.floor(at / rowSize) : 0;
      throw new Error(
        `${file}: value ${data[k]} at row ${row}, column ${rowSize > 0 ? at % rowSize : 0} does not fit in float32 (largest ${FLOAT32_MAX.toPrecision(2)})`,
      );
    }
  }
  return out;
}

function readExactly(fd: number, file: string, length: number, position: number, into?: Uint8Array): Uint8Array {
  // A fresh Uint8Array starts at byte 0 of its own buffer, so typed views over it are aligned
  // (pooled Buffers may sit at odd offsets and would need another copy); so does a reused one
  // (`into`, from {@link npyRowReader}), read from its byte 0.
  const buf = into !== undefined && into.byteOffset === 0 && into.byteLength >= length ? into.subarray(0, length) : new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error(`${file}: unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return buf;
}

/** Parse the header of an open file. */
function headerFromFd(fd: number, file: string): NpyHeader {
  const size = fs.fstatSync(fd).size;
  const probe = Buffer.from(readExactly(fd, file, Math.min(size, 12), 0).buffer);
  if (probe.length < 10 || !probe.subarray(0, 6).equals(MAGIC)) {
    return parseHeader(probe, file, size); // throws the right message
  }
  const headerLen = probe[6] === 1 ? probe.readUInt16LE(8) : probe.length >= 12 ? probe.readUInt32LE(8) : 0;
  const total = (probe[6] === 1 ? 10 : 12) + headerLen;
  const head = Buffer.from(readExactly(fd, file, Math.min(size, total), 0).buffer);
  return parseHeader(head, file, size);
}

/** Read only the header of a `.npy` file: dtype, shape and where the data starts. */
export function openNpy(file: string): NpyHeader {
  const fd = openFd(file);
  try {
    return headerFromFd(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Convert raw little-endian bytes of `count` elements into the in-memory representation. */
function decode(aligned: Uint8Array, dtype: NpyDtype, count: number, file: string): NpyData {
  // `aligned` comes from readExactly: it starts at byte 0 of its buffer, so views need no copy.
  // The buffer may be longer (a reused one): views take `count` elements.
  switch (dtype) {
    case "float16":
      return decodeF16(new Uint16Array(aligned.buffer, 0, count));
    case "float32":
      return new Float32Array(aligned.buffer, 0, count);
    case "float64":
      return new Float64Array(aligned.buffer, 0, count);
    case "int32":
      return new Int32Array(aligned.buffer, 0, count);
    case "uint8":
      return aligned;
    case "int64": {
      const wide = new BigInt64Array(aligned.buffer, 0, count);
      const out = new Int32Array(count);
      for (let k = 0; k < count; k++) {
        const v = wide[k];
        if (v > 2147483647n || v < -2147483648n) {
          throw new Error(`${file}: int64 value ${v} at index ${k} does not fit in int32`);
        }
        out[k] = Number(v);
      }
      return out;
    }
  }
}

/** Read a whole `.npy` file. */
export function readNpy(file: string): NpyArray {
  const fd = openFd(file);
  try {
    const h = headerFromFd(fd, file);
    const count = shapeSize(h.shape);
    const bytes = readExactly(fd, file, count * h.itemSize, h.dataOffset);
    return { dtype: h.dtype, shape: h.shape, data: decode(bytes, h.dtype, count, file) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Read a whole `.npy` file of any numeric dtype as float32. */
export function readNpyFloat32(file: string): { shape: number[]; data: Float32Array; dtype: NpyDtype } {
  const a = readNpy(file);
  const data =
    a.data instanceof Float32Array
      ? a.data
      : a.data instanceof Float64Array
        ? narrowFloat64(a.data, file, shapeSize(a.shape.slice(1)))
        : Float32Array.from(a.data);
  return { shape: a.shape, dtype: a.dtype, data };
}

/** Read a whole integer `.npy` file (int32, int64 or uint8) as int32; float files are an error. */
export function readNpyInt32(file: string): { shape: number[]; data: Int32Array } {
  const a = readNpy(file);
  if (a.dtype === "float16" || a.dtype === "float32" || a.dtype === "float64") {
    throw new Error(`${file}: expected an integer array (int32), got ${a.dtype}`);
  }
  return { shape: a.shape, data: a.data instanceof Int32Array ? a.data : Int32Array.from(a.data) };
}

/**
 * Read rows `start..end` (first axis) of a float `.npy` file as float32, row-major
 * `[end - start, ...shape.slice(1)]`. Pass `fd` to reuse an open descriptor, and `into` to read
 * into that buffer (from its byte 0, when it is long enough) instead of a fresh one: float32 rows
 * are then a view of `into`, valid until it is written again.
 */
export function readNpyRows(h: NpyHeader, start: number, end: number, fd?: number, into?: Uint8Array): Float32Array {
  const rows = h.shape[0] ?? 1;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= rows)) {
    throw new Error(`${h.path}: rows ${start}..${end} out of range 0..${rows}`);
  }
  if (h.dtype !== "float16" && h.dtype !== "float32" && h.dtype !== "float64") {
    throw new Error(`${h.path}: expected a float array, got ${h.dtype}`);
  }
  const rowSize = shapeSize(h.shape.slice(1));
  const count = (end - start) * rowSize;
  const own = fd === undefined ? openFd(h.path) : fd;
  try {
    const bytes = readExactly(own, h.path, count * h.itemSize, h.dataOffset + start * rowSize * h.itemSize, into);
    const data = decode(bytes, h.dtype, count, h.path);
    if (data instanceof Float64Array) return narrowFloat64(data, h.path, rowSize, start * rowSize);
    return data instanceof Float32Array ? data : Float32Array.from(data);
  } finally {
    if (fd === undefined) fs.closeSync(own);
  }
}

/**
 * Rows of a float `.npy` file as {@link readNpyRows} gives them, read into one buffer that every
 * call reuses (grown when a call needs more): each result is valid until the next call. A
 * streaming score reads ~150 MB (d_model 768) to ~750 MB (4,096) per file at 22,986 tokens; a
 * fresh buffer per chunk paid its page faults on every chunk (measured: 0.3 s of system time
 * and a 3x slower first pass over each chunk, per 70 MB file, on this project's machine).
 */
export function npyRowReader(h: NpyHeader): (start: number, end: number) => Float32Array {
  let buf: Uint8Array | undefined;
  return (start, end) => {
    const bytes = (end - start) * shapeSize(h.shape.slice(1)) * h.itemSize;
    if (buf === undefined || buf.byteLength < bytes) buf = new Uint8Array(bytes);
    return readNpyRows(h, start, end, undefined, buf);
  };
}

/** As {@link readNpyRows}, as float64 (exact for every float dtype: float64 files keep their digits). */
export function readNpyRows64(h: NpyHeader, start: number, end: number, fd?: number): Float64Array {
  const rows = h.shape[0] ?? 1;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= rows)) {
    throw new Error(`${h.path}: rows ${start}..${end} out of range 0..${rows}`);
  }
  if (h.dtype !== "float64") return Float64Array.from(readNpyRows(h, start, end, fd));
  const rowSize = shapeSize(h.shape.slice(1));
  const count = (end - start) * rowSize;
  const own = fd === undefined ? openFd(h.path) : fd;
  try {
    const bytes = readExactly(own, h.path, count * h.itemSize, h.dataOffset + start * rowSize * h.itemSize);
    return decode(bytes, h.dtype, count, h.path) as Float64Array;
  } finally {
    if (fd === undefined) fs.closeSync(own);
  }
}

/** The header bytes (magic, version, length, dict, padding) for an array, aligned to 64 bytes. */
export function npyHeaderBytes(dtype: NpyDtype, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${DTYPE_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Version 1 holds headers up to 65535 bytes; beyond that (huge ranks only) use version 2.
  const version = dict.length + 11 + 64 < 65536 ? 1 : 2;
  const prefix = version === 1 ? 10 : 12;
  const pad = (64 - ((prefix + dict.length + 1) % 64)) % 64;
  dict = dict + " ".repeat(pad) + "\n";
  const out = Buffer.alloc(prefix + dict.length);
  MAGIC.copy(out, 0);
  out[6] = version;
  out[7] = 0;
  if (version === 1) out.writeUInt16LE(dict.length, 8);
  else out.writeUInt32LE(dict.length, 8);
  out.write(dict, prefix, "latin1");
  return out;
}

/** Encode values to the little-endian bytes of `dtype`. */
export function encodeNpyData(dtype: NpyDtype, data: ArrayLike<number>): ArrayBufferView {
  switch (dtype) {
    case "float16":
      return encodeF16(data);
    case "float32":
      return data instanceof Float32Array ? data : Float32Array.from(data);
    case "float64":
      return data instanceof Float64Array ? data : Float64Array.from(data);
    case "int32":
    case "int64":
    case "uint8": {
      const bad = findNonInteger(data, dtype);
      if (bad >= 0) throw new Error(`writeNpy: value ${data[bad]} at index ${bad} is not a valid ${dtype}`);
      if (dtype === "int32") return data instanceof Int32Array ? data : Int32Array.from(data);
      if (dtype === "uint8") return data instanceof Uint8Array ? data : Uint8Array.from(data);
      const wide = new BigInt64Array(data.length);
      for (let k = 0; k < data.length; k++) wide[k] = BigInt(data[k]);
      return wide;
    }
  }
}

function findNonInteger(data: ArrayLike<number>, dtype: NpyDtype): number {
  if (data instanceof Int32Array) return dtype === "uint8" ? findOutOfRange(data, 0, 255) : -1;
  if (data instanceof Uint8Array) return -1;
  const [lo, hi] =
    dtype === "uint8" ? [0, 255] : dtype === "int32" ? [-2147483648, 2147483647] : [-(2 ** 53), 2 ** 53];
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    if (!Number.isInteger(v) || v < lo || v > hi) return k;
  }
  return -1;
}

function findOutOfRange(data: Int32Array, lo: number, hi: number): number {
  for (let k = 0; k < data.length; k++) if (data[k] < lo || data[k] > hi) return k;
  return -1;
}

/**
 * Write an array as `.npy` atomically (temp file + rename). Float dtypes accept any numeric
 * input (float16 rounds to nearest even); integer dtypes require integers in range.
 */
export function writeNpy(
  file: string,
  array: { dtype: NpyDtype; shape: readonly number[]; data: ArrayLike<number> },
): void {
  const { dtype, shape, data } = array;
  if (!(dtype in ITEM_SIZE)) throw new Error(`writeNpy: ${file}: unsupported dtype '${dtype}'`);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`writeNpy: ${file}: invalid shape [${shape.join(", ")}]`);
  }
  if (shapeSize(shape) !== data.length) {
    throw new Error(
      `writeNpy: ${file}: shape [${shape.join(", ")}] holds ${shapeSize(shape)} values, data has ${data.length}`,
    );
  }
  writeNpyEncoded(file, dtype, shape, encodeNpyData(dtype, data));
}

/**
 * Write an array whose values are already in `dtype`'s little-endian bytes (`body`, e.g. the
 * float16 bits of HiddenStateWriter's reused buffers) as `.npy`: no conversion or copy.
 *
 * Atomically (temp file + rename) by default. `inPublishedFolder`: the file lies in a folder
 * that is itself renamed into place once complete (a dataset shard), so it is created in place
 * and only fsynced: the per-file rename and folder fsync were a quarter of a batch's writing.
 */
export function writeNpyEncoded(
  file: string,
  dtype: NpyDtype,
  shape: readonly number[],
  body: ArrayBufferView,
  opts: { inPublishedFolder?: boolean } = {},
): void {
  const bytes = shapeSize(shape) * ITEM_SIZE[dtype];
  if (body.byteLength !== bytes) {
    throw new Error(`writeNpy: ${file}: shape [${shape.join(", ")}] of ${dtype} takes ${bytes} bytes, data has ${body.byteLength}`);
  }
  const header = npyHeaderBytes(dtype, shape);
  if (!opts.inPublishedFolder) {
    writeAtomicWith(file, (w) => {
      w.write(header);
      w.write(body);
    });
    return;
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "wx");
    for (const piece of [header, new Uint8Array(body.buffer, body.byteOffset, body.byteLength)]) {
      for (let done = 0; done < piece.length; ) done += fs.writeSync(fd, piece, done, piece.length - done);
    }
    fs.fsyncSync(fd);
  } catch (err) {
    throw fsError(file, err, "write");
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
