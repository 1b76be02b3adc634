/**
 * Tables in notebooks: a danfojs DataFrame (or plain rows) shown as an HTML `<table>` plus an
 * aligned `text/plain` rendering. danfojs has no HTML renderer of its own (its `print()` draws a
 * box-character grid on stdout), so the table is built here from `df.columns`, `df.index` and
 * `df.values`. Numbers are formatted with a fixed number of decimals, which keeps stored outputs
 * stable and readable.
 */
import { displayBundle, MimeBundle } from "./display";

/** What danfojs DataFrames look like to this module (only these members are read). */
export interface DataFrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
  index?: (string | number)[];
}

/** A DataFrame, a list of records, or explicit columns and rows. */
export type TableInput = DataFrameLike | Record<string, unknown>[] | { columns: string[]; rows: unknown[][] };

/** Options of `showTable`: title, decimals, index column, row limit. */
export interface TableOptions {
  /** Caption above the table. */
  title?: string;
  /** Decimals for non-integer numbers (default 4). */
  decimals?: number;
  /** Show the row index (default: true for DataFrames, false otherwise). */
  index?: boolean;
  /** Show at most this many rows; the rest is summarised in a last line (default 60). */
  maxRows?: number;
}

interface Grid {
  columns: string[];
  rows: unknown[][];
  index?: (string | number)[];
}

function toGrid(input: TableInput): Grid {
  if (Array.isArray(input)) {
    const columns: string[] = [];
    for (const rec of input) {
      if (rec === null || typeof rec !== "object") throw new Error("showTable: a list input must hold objects (one per row)");
      for (const k of Object.keys(rec)) if (!columns.includes(k)) columns.push(k);
    }
    return { columns, rows: input.map((rec) => columns.map((c) => rec[c])) };
  }
  if (input && typeof input === "object" && Array.isArray((input as { rows?: unknown }).rows)) {
    const t = input as { columns: string[]; rows: unknown[][] };
    t.rows.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== t.columns.length) throw new Error(`showTable: row ${i} has ${Array.isArray(r) ? r.length : "no"} cells for ${t.columns.length} columns`);
    });
    return { columns: t.columns, rows: t.rows };
  }
  if (input && typeof input === "object" && Array.isArray((input as DataFrameLike).columns) && Array.isArray((input as DataFrameLike).values)) {
    const df = input as DataFrameLike;
    // A danfojs Series-like 1-D `values` becomes one column.
    const rows = df.values.map((r) => (Array.isArray(r) ? r : [r]));
    return { columns: df.columns, rows, index: df.index };
  }
  throw new Error("showTable: expected a danfojs DataFrame, a list of row objects, or {columns, rows}");
}

/** Formats one cell: integers as is, other numbers with `decimals` decimals (exponent form when tiny or huge). */
export function formatCell(value: unknown, decimals = 4): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
    const a = Math.abs(value);
    if (a >= 1e6 || (a > 0 && a < Math.pow(10, -decimals))) return value.toExponential(Math.max(1, decimals - 1));
    return value.toFixed(decimals);
  }
  return String(value);
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The table as `text/html` and `text/plain`. */
export function tableBundle(input: TableInput, opts: TableOptions = {}): MimeBundle {
  const grid = toGrid(input);
  const decimals = opts.decimals ?? 4;
  const showIndex = opts.index ?? grid.index !== undefined;
  const maxRows = opts.maxRows ?? 60;
  const index = grid.index ?? grid.rows.map((_, i) => i);
  const shown = grid.rows.slice(0, maxRows);
  const hidden = grid.rows.length - shown.length;
  const numeric = grid.columns.map((_, c) => shown.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === "number" || typeof r[c] === "bigint"));
  // Like pandas, a column with any fractional number shows all its numbers with decimals.
  const fractional = grid.columns.map((_, c) => shown.some((r) => typeof r[c] === "number" && Number.isFinite(r[c]) && !Number.isInteger(r[c])));
  const cells = shown.map((r) => r.map((v, c) => (fractional[c] && typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 1e6 ? v.toFixed(decimals) : formatCell(v, decimals))));
  const more = hidden > 0 ? `... ${hidden} more row${hidden === 1 ? "" : "s"} (${grid.rows.length} in all)` : "";

  // HTML, shaped like pandas' to_html so notebook front ends style it as a data frame.
  const align = (c: number) => (numeric[c] ? "right" : "left");
  let html = `<table class="dataframe linearity-table" style="border-collapse:collapse;">\n`;
  if (opts.title) html += `<caption style="text-align:left;font-weight:bold;">${escapeHtml(opts.title)}</caption>\n`;
  html += "<thead><tr>" + (showIndex ? "<th></th>" : "");
  html += grid.columns.map((c, i) => `<th style="text-align:${align(i)};">${escapeHtml(String(c))}</th>`).join("") + "</tr></thead>\n<tbody>\n";
  cells.forEach((row, r) => {
    html += "<tr>" + (showIndex ? `<th>${escapeHtml(String(index[r]))}</th>` : "");
    html += row.map((v, c) => `<td style="text-align:${align(c)};">${escapeHtml(v)}</td>`).join("") + "</tr>\n";
  });
  html += "</tbody>\n</table>\n";
  if (more) html += `<p>${escapeHtml(more)}</p>\n`;

  // Plain text: right-aligned numeric columns, left-aligned text, two spaces between columns.
  const header = [...(showIndex ? [""] : []), ...grid.columns.map(String)];
  const body = cells.map((row, r) => [...(showIndex ? [String(index[r])] : []), ...row]);
  const isNum = [...(showIndex ? [false] : []), ...numeric];
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((v, c) => (isNum[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join("  ").trimEnd();
  const text = [...(opts.title ? [opts.title] : []), line(header), ...body.map(line), ...(more ? [more] : [])].join("\n");
  return { "text/html": html, "text/plain": text };
}

/** Shows a table in the notebook; outside a kernel returns the bundle instead. */
export function showTable(input: TableInput, opts: TableOptions = {}): MimeBundle | undefined {
  const bundle = tableBundle(input, opts);
  return displayBundle(bundle) ? undefined : bundle;
}
