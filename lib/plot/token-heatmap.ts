/**
 * Per-token values over the actual text: each token (a byte or a BPE piece, decoded) drawn with a
 * background colour for its value, one line per row (a block or a state), the exact number on
 * hover. Plain HTML and CSS (a `title` attribute for the hover, no script), so it renders the
 * same in JupyterLab, the classic notebook, nbconvert HTML and the offline reports.
 */
import { displayBundle, type MimeBundle } from "./display";

/** One line of a token heat map: a label and one value per token. */
export interface TokenHeatmapRow {
  /** Row label, e.g. "block 3". */
  label: string;
  /** [pos] one value per token; NaN or undefined leaves the token uncoloured. */
  values: ArrayLike<number>;
}

/** Input of `tokenHeatmap`: the token pieces, the rows of values, titles, colour scaling (global or per row), decimals. */
export interface TokenHeatmapSpec {
  /** [pos] the text of each token as it should be shown (see tokenPieces). */
  tokens: readonly string[];
  rows: readonly TokenHeatmapRow[];
  title?: string;
  /** What the values are, for the hover and the legend, e.g. "loss (nats)". */
  valueName?: string;
  /** "global" (default): one colour range for all rows; "row": each row scaled to its own range. */
  scale?: "global" | "row";
  /** Decimals in the hover text (default 4). */
  decimals?: number;
}

/** HTML-escape text (also quotes, for attributes). */
function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Visible form of a token: spaces as middle dots' width kept, newlines as ↵, tabs as →. */
function showToken(t: string): string {
  if (t === "") return "\u200b";
  return t.replace(/\n/g, "\u21b5").replace(/\t/g, "\u2192").replace(/ /g, "\u00a0");
}

/**
 * Colour of a value at fraction f in [0, 1] of its range: white to a saturated orange-red
 * (sequential, readable under black text), as an rgb() string.
 */
function colour(f: number): string {
  const c = Math.max(0, Math.min(1, f));
  const r = Math.round(255 - 15 * c), g = Math.round(255 - 160 * c), b = Math.round(255 - 215 * c);
  return `rgb(${r},${g},${b})`;
}

function range(values: ArrayLike<number>[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const row of values) for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return [lo, hi];
}

/** The text/html of a token heatmap (see the file comment). */
export function tokenHeatmapHtml(spec: TokenHeatmapSpec): string {
  const n = spec.tokens.length;
  if (spec.rows.length === 0) throw new Error("tokenHeatmap: 'rows' is empty");
  spec.rows.forEach((r, i) => {
    if (r.values.length !== n) throw new Error(`tokenHeatmap: rows[${i}] ('${r.label}') has ${r.values.length} values for ${n} tokens`);
  });
  const decimals = spec.decimals ?? 4;
  const name = spec.valueName ?? "value";
  const global = range(spec.rows.map((r) => r.values));
  const lines = spec.rows.map((row) => {
    const [lo, hi] = spec.scale === "row" ? range([row.values]) : global;
    const span = hi > lo ? hi - lo : 1;
    const cells = spec.tokens.map((tok, i) => {
      const v = row.values[i];
      const finite = Number.isFinite(v);
      const bg = finite ? colour((v - lo) / span) : "transparent";
      const hover = `${row.label}, token ${i} ${JSON.stringify(tok)}: ${name} ${finite ? v.toFixed(decimals) : "n/a"}`;
      return `<span style="background:${bg}" title="${escapeHtml(hover)}">${escapeHtml(showToken(tok))}</span>`;
    });
    const label = `<span style="display:inline-block;min-width:6em;color:#555;font-family:sans-serif;font-size:11px">${escapeHtml(row.label)}</span>`;
    return `<div style="white-space:pre-wrap;line-height:1.6">${label}${cells.join("")}</div>`;
  });
  const rangeNote = spec.scale === "row"
    ? "white = lowest of its row, orange = highest of its row"
    : `white = ${global[0].toFixed(decimals)}, orange = ${global[1].toFixed(decimals)}`;
  const title = spec.title ? `<div style="font-family:sans-serif;font-weight:bold;margin-bottom:4px">${escapeHtml(spec.title)}</div>` : "";
  return (
    `<div class="linearity-token-heatmap" style="font-family:monospace;font-size:12px">${title}${lines.join("")}` +
    `<div style="font-family:sans-serif;font-size:11px;color:#555;margin-top:4px">${escapeHtml(name)}: ${escapeHtml(rangeNote)}; hover a token for its value</div></div>`
  );
}

/** The display bundle (text/html plus a text/plain summary). */
export function tokenHeatmapBundle(spec: TokenHeatmapSpec): MimeBundle {
  const html = tokenHeatmapHtml(spec);
  return {
    "text/html": html,
    "text/plain": `<token heatmap${spec.title ? ` '${spec.title}'` : ""}: ${spec.rows.length} rows x ${spec.tokens.length} tokens>`,
  };
}

/** Shows the token heatmap in a tslab kernel (returns undefined); returns the bundle elsewhere. */
export function tokenHeatmap(spec: TokenHeatmapSpec): MimeBundle | undefined {
  const bundle = tokenHeatmapBundle(spec);
  return displayBundle(bundle) ? undefined : bundle;
}
