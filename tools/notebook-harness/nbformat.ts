/**
 * Jupyter notebook format v4: types, reading and writing byte-compatible with Jupyter.
 *
 * In memory every multi-line string (cell source, stream text, non-JSON MIME data) is one
 * string; on disk it is a list of lines, as nbformat writes it. Output matches
 * `nbformat.write`: `json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)` plus a
 * trailing newline, with Python's float spelling, so a notebook saved by Jupyter and by this
 * module differs only where the content does.
 */
import * as fs from "fs";
import { writeFileAtomic } from "../../lib/io/atomic";

export type MimeBundle = Record<string, unknown>;

export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: string;
}
export interface DisplayDataOutput {
  output_type: "display_data";
  data: MimeBundle;
  metadata: Record<string, unknown>;
}
export interface ExecuteResultOutput {
  output_type: "execute_result";
  execution_count: number | null;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}
export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}
export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

export interface CellMetadata {
  tags?: string[];
  [key: string]: unknown;
}
export interface CodeCell {
  cell_type: "code";
  id?: string;
  source: string;
  metadata: CellMetadata;
  outputs: Output[];
  execution_count: number | null;
}
export interface MarkdownCell {
  cell_type: "markdown" | "raw";
  id?: string;
  source: string;
  metadata: CellMetadata;
  attachments?: Record<string, MimeBundle>;
}
export type Cell = CodeCell | MarkdownCell;

export interface Notebook {
  nbformat: 4;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}

/** nbformat's rule for MIME types kept as JSON objects (not split into lines). */
export function isJsonMime(mime: string): boolean {
  return mime === "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"));
}

/** Python's `str.splitlines(keepends=True)`, which nbformat uses to split multi-line strings. */
export function splitLinesPy(text: string): string[] {
  const lines: string[] = [];
  const boundary = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
  let start = 0;
  for (let m = boundary.exec(text); m !== null; m = boundary.exec(text)) {
    lines.push(text.slice(start, m.index + m[0].length));
    start = m.index + m[0].length;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

function joinMultiline(value: unknown, where: string): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join("");
  throw new Error(`${where}: expected a string or a list of strings`);
}

function normalizeBundle(data: unknown, where: string): MimeBundle {
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new Error(`${where}: 'data' must be an object`);
  const out: MimeBundle = {};
  for (const [mime, v] of Object.entries(data)) out[mime] = isJsonMime(mime) ? v : joinMultiline(v, `${where}.data['${mime}']`);
  return out;
}

function normalizeOutput(o: Record<string, unknown>, where: string): Output {
  switch (o.output_type) {
    case "stream":
      return { ...o, text: joinMultiline(o.text, `${where}.text`) } as StreamOutput;
    case "display_data":
    case "execute_result":
      return { ...o, data: normalizeBundle(o.data, where), metadata: (o.metadata as Record<string, unknown>) ?? {} } as Output;
    case "error":
      return o as unknown as ErrorOutput;
    default:
      throw new Error(`${where}: unknown output_type '${String(o.output_type)}'`);
  }
}

/** Parses notebook JSON; `where` (usually the path) prefixes errors. */
export function parseNotebook(json: string, where = "notebook"): Notebook {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || raw.nbformat !== 4) {
    throw new Error(`${where}: expected nbformat 4, got ${typeof raw === "object" && raw !== null ? String(raw.nbformat) : typeof raw}`);
  }
  if (!Array.isArray(raw.cells)) throw new Error(`${where}: 'cells' must be a list`);
  const cells = (raw.cells as Record<string, unknown>[]).map((c, i): Cell => {
    const at = `${where}: cell ${i + 1}`;
    const source = joinMultiline(c.source ?? "", `${at} source`);
    const metadata = (c.metadata as CellMetadata) ?? {};
    if (c.cell_type === "code") {
      const outputs = Array.isArray(c.outputs) ? c.outputs.map((o, j) => normalizeOutput(o, `${at} output ${j + 1}`)) : [];
      return { ...c, cell_type: "code", source, metadata, outputs, execution_count: (c.execution_count as number | null) ?? null };
    }
    if (c.cell_type === "markdown" || c.cell_type === "raw") return { ...c, cell_type: c.cell_type, source, metadata } as MarkdownCell;
    throw new Error(`${at}: unknown cell_type '${String(c.cell_type)}'`);
  });
  return { ...raw, nbformat: 4, nbformat_minor: (raw.nbformat_minor as number) ?? 4, metadata: (raw.metadata as Record<string, unknown>) ?? {}, cells } as Notebook;
}

/** Reads a notebook file. Throws `<path>: ...` when it is not nbformat 4 JSON. */
export function readNotebook(path: string): Notebook {
  let json: string;
  try {
    json = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseNotebook(json, path);
}

/** The on-disk shape: multi-line strings split into lines, as nbformat's `split_lines`. */
function toDiskShape(nb: Notebook): unknown {
  const splitBundle = (data: MimeBundle) =>
    Object.fromEntries(Object.entries(data).map(([k, v]) => [k, !isJsonMime(k) && typeof v === "string" ? splitLinesPy(v) : v]));
  return {
    ...nb,
    cells: nb.cells.map((c) => {
      const cell: Record<string, unknown> = { ...c, source: splitLinesPy(c.source) };
      if (c.cell_type === "code") {
        cell.outputs = c.outputs.map((o) => {
          if (o.output_type === "stream") return { ...o, text: splitLinesPy(o.text) };
          if (o.output_type === "display_data" || o.output_type === "execute_result") return { ...o, data: splitBundle(o.data) };
          return o;
        });
      }
      return cell;
    }),
  };
}

/** Python's `repr(float)` for a finite double, which `json.dumps` uses. */
export function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
  const [mantissa, expText] = x.toExponential().split("e");
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) return String(x); // JS and Python agree on fixed notation here
  const sign = exp < 0 ? "-" : "+";
  const digits = String(Math.abs(exp)).padStart(2, "0");
  return `${mantissa}e${sign}${digits}`;
}

/** `json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False)`. */
export function stringifyPy(value: unknown, indent = 1, level = 0): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return pyFloat(value);
  }
  if (typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  const pad = "\n" + " ".repeat(indent * (level + 1));
  const end = "\n" + " ".repeat(indent * level);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return "[" + value.map((v) => pad + stringifyPy(v, indent, level + 1)).join(",") + end + "]";
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "{}";
  return "{" + entries.map(([k, v]) => pad + JSON.stringify(k) + ": " + stringifyPy(v, indent, level + 1)).join(",") + end + "}";
}

/** Serializes a notebook exactly as Jupyter does (sorted keys, indent 1, trailing newline). */
export function serializeNotebook(nb: Notebook): string {
  return stringifyPy(toDiskShape(nb)) + "\n";
}

/** Writes a notebook atomically (temp file + rename). */
export function writeNotebook(path: string, nb: Notebook): void {
  writeFileAtomic(path, serializeNotebook(nb));
}
