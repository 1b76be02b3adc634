/**
 * Prose that cannot go stale: every number a notebook's markdown quotes must appear, at the
 * precision quoted, in that notebook's outputs (or code), unless it is marked as external
 * (a figure from the paper, the original notebook, another model).
 *
 * What counts as a quoted number: decimals (0.769, 3.7737e-6), percentages (35%, 11.7%) and
 * numbers with thousands separators (16,000). Plain integers (no separator) are not checked:
 * they are mostly names (state 3, block 5, Figure 1, 10 epochs, the year 2024), not results; write
 * a count of 1,000 or more with a separator so that it is checked. Numbers inside inline code
 * (`...`), fenced code and link targets are not checked.
 *
 * Marking external numbers: wrap them in `<span class="external">...</span>`; every number
 * inside is exempt. The span renders as plain text in Jupyter, GitHub and the HTML reports.
 * Checking an integer: `<span class="checked">650</span>` makes plain integers inside count too
 * (a step, a count below 1,000 that is a result).
 *
 * Docs that quote notebooks: in any markdown file (docs/*.md, README.md), the numbers between
 * `<!-- numbers from notebooks/A.ipynb [notebooks/B.ipynb ...] -->` and `<!-- end numbers -->`
 * must appear in those notebooks' stored outputs by the same rules ({@link staleDocNumbers}).
 *
 * Matching "at the precision quoted": a prose number with d decimals matches an output number x
 * when x rounds to it at d decimals (|x - v| <= half a unit in the last quoted place); a
 * percentage p% matches x = p/100 that way, or an output that prints p itself (as "11.1%"). Signs are ignored (a minus sign is often
 * typeset as a dash).
 */
import type { Cell, Notebook } from "./nbformat";
import { stripAnsi } from "./ansi";

/** One number quoted in markdown. */
export interface QuotedNumber {
  /** The text as written, e.g. "0.769", "16,000", "35%". */
  text: string;
  /** Its value (a percentage as a fraction: "35%" is 0.35). */
  value: number;
  /** Largest allowed |output - value| (half a unit in the last quoted place). */
  tolerance: number;
  /** For a percentage: the number as written (11.1 for "11.1%"), which may also be printed. */
  percent?: number;
  /** 1-based cell number among all cells, and the line within the cell. */
  cell: number;
  line: number;
}

const EXTERNAL_SPAN = /<span\s+class\s*=\s*["']external["']\s*>[\s\S]*?<\/span>/gi;
const CHECKED_SPAN = /<span\s+class\s*=\s*["']checked["']\s*>[\s\S]*?<\/span>/gi;

/** Markdown with the parts that are not prose blanked out (same length, so lines stay put). */
export function proseOnly(markdown: string): string {
  const blank = (m: string) => m.replace(/[^\n]/g, " ");
  return markdown
    .replace(/```[\s\S]*?```/g, blank) // fenced code
    .replace(EXTERNAL_SPAN, blank) // numbers marked external
    .replace(/`[^`\n]*`/g, blank) // inline code
    .replace(/\]\([^)\s]*\)/g, blank) // link targets
    .replace(/https?:\/\/\S+/g, blank) // bare URLs
    .replace(/<[^>\n]*>/g, blank); // other HTML tags (their attributes)
}

// A number token: thousands-separated, decimal (optionally with exponent), or integer with
// exponent; optionally followed by %. Not part of a word or of a longer number.
const NUMBER = /(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+(?:[eE][-+−]?\d+)?|\d+[eE][-+−]?\d+|\d+)(%?)(?![\w]|[.,]\d)/g;

/**
 * Parses one number token; returns value and tolerance, or undefined when it is not checked
 * (a plain integer, unless `integers` is set: inside a checked span).
 */
export function parseQuoted(text: string, percent: boolean, integers = false): { value: number; tolerance: number; percent?: number } | undefined {
  const plain = text.replace(/,/g, "").replace("−", "-");
  const [mantissa, exponent] = plain.split(/[eE]/);
  const decimals = mantissa.includes(".") ? mantissa.length - mantissa.indexOf(".") - 1 : 0;
  const separated = text.includes(",");
  const hasExponent = exponent !== undefined;
  if (!percent && !separated && !hasExponent && decimals === 0 && !integers) return undefined;
  const scale = percent ? 0.01 : 1;
  const value = Number(plain) * scale;
  const unit = 10 ** (-decimals + (hasExponent ? Number(exponent) : 0)) * scale;
  return { value, tolerance: unit / 2 + Math.abs(value) * 1e-12, ...(percent ? { percent: Number(plain) } : {}) };
}

/** The numbers a markdown cell quotes (after removing code, links and external spans; integers only inside checked spans). */
export function quotedNumbers(markdown: string, cell = 0): QuotedNumber[] {
  const checked = [...markdown.matchAll(CHECKED_SPAN)].map((m) => [m.index!, m.index! + m[0].length]);
  const out: QuotedNumber[] = [];
  let offset = 0; // of the line in `markdown` (proseOnly keeps every character's place)
  proseOnly(markdown)
    .split("\n")
    .forEach((line, i) => {
      for (const m of line.matchAll(NUMBER)) {
        const at = offset + m.index!;
        const parsed = parseQuoted(m[1], m[2] === "%", checked.some(([a, b]) => at >= a && at < b));
        if (parsed) out.push({ text: m[0], ...parsed, cell, line: i + 1 });
      }
      offset += line.length + 1;
    });
  return out;
}

/** Every number in a string (any notation), as absolute values. */
export function numbersIn(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?/g)) {
    const v = Number(m[0].replace(/,/g, ""));
    if (Number.isFinite(v)) out.push(v);
    // "16,000" and "1,5" style lists: also the parts between commas.
    if (m[0].includes(",")) for (const part of m[0].split(",")) out.push(Number(part));
  }
  return out;
}

function collectJsonNumbers(value: unknown, out: number[]): void {
  if (typeof value === "number") out.push(Math.abs(value));
  else if (typeof value === "string") out.push(...numbersIn(value));
  else if (Array.isArray(value)) for (const v of value) collectJsonNumbers(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) collectJsonNumbers(v, out);
}

/**
 * The numbers a notebook shows or uses: outputs (streams, errors, text/plain and JSON MIME data;
 * not HTML or SVG, which repeat them and carry plotly.js) and the code cells' source.
 */
export function notebookNumbers(nb: Notebook): number[] {
  const out: number[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    out.push(...numbersIn(cell.source));
    for (const o of cell.outputs) {
      if (o.output_type === "stream") out.push(...numbersIn(o.text));
      else if (o.output_type === "error") out.push(...numbersIn(stripAnsi(`${o.evalue}\n${o.traceback.join("\n")}`)));
      else {
        for (const [mime, v] of Object.entries(o.data)) {
          if (mime === "text/plain" && typeof v === "string") out.push(...numbersIn(v));
          else if (mime.endsWith("json")) collectJsonNumbers(v, out);
        }
      }
    }
  }
  return out.sort((a, b) => a - b);
}

/** True when some number in `sorted` lies within the quoted number's tolerance. */
function found(q: QuotedNumber, sorted: number[]): boolean {
  if (q.percent !== undefined && within(Math.abs(q.percent), q.tolerance * 100, sorted)) return true;
  return within(Math.abs(q.value), q.tolerance, sorted);
}

/** True when some number in `sorted` lies in [v - tol, v + tol]. */
function within(v: number, tol: number, sorted: number[]): boolean {
  const lo = v - tol;
  const hi = v + tol;
  // Binary search for the first value >= lo.
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (sorted[mid] < lo) a = mid + 1;
    else b = mid;
  }
  return a < sorted.length && sorted[a] <= hi;
}

/** The quoted numbers of `nb`'s markdown that appear nowhere in its outputs or code. */
export function staleNumbers(nb: Notebook): QuotedNumber[] {
  const shown = notebookNumbers(nb);
  return nb.cells.flatMap((cell: Cell, i) => (cell.cell_type === "markdown" ? quotedNumbers(cell.source, i + 1) : [])).filter((q) => !found(q, shown));
}

/** A one-line-per-number report of stale numbers, with the markdown line for context. */
export function describeStale(nb: Notebook, stale: QuotedNumber[]): string {
  return stale
    .map((q) => {
      const line = nb.cells[q.cell - 1].source.split("\n")[q.line - 1].trim();
      return `markdown cell ${q.cell}, line ${q.line}: ${q.text} is not in the outputs: "${line.length > 110 ? line.slice(0, 109) + "…" : line}"`;
    })
    .join("\n");
}

/** A stretch of a markdown file whose numbers come from one or more notebooks. */
export interface DocRegion {
  /** The notebooks' paths as written in the marker, relative to the repository root. */
  notebooks: string[];
  /** 1-based line of the opening marker. */
  line: number;
  /** The text between the markers. */
  text: string;
}

const REGION = /<!--\s*numbers from\s+((?:\S+?\.ipynb\s+)*\S+?\.ipynb)\s*-->([\s\S]*?)<!--\s*end numbers\s*-->/g;

/**
 * The `<!-- numbers from notebooks/A.ipynb [notebooks/B.ipynb ...] -->` ... `<!-- end numbers -->`
 * regions of a markdown file.
 */
export function docRegions(markdown: string): DocRegion[] {
  const out: DocRegion[] = [];
  for (const m of markdown.matchAll(REGION)) {
    out.push({ notebooks: m[1].split(/\s+/), line: markdown.slice(0, m.index).split("\n").length, text: m[2] });
  }
  const opened = (markdown.match(/<!--\s*numbers from\b/g) ?? []).length;
  if (opened !== out.length) throw new Error(`${opened} '<!-- numbers from ... -->' markers but ${out.length} closed by '<!-- end numbers -->'`);
  return out;
}

/**
 * The numbers quoted in `markdown`'s notebook regions that are not in the outputs they quote, as
 * "line N: 0.769 is not in notebooks/X.ipynb: <the line>" (line numbers in the file). A line that
 * names one of the region's notebooks in inline code (a table row starting with `01-linearity`)
 * is checked against that notebook alone; other lines against all of the region's notebooks.
 */
export function staleDocNumbers(markdown: string, readBook: (notebook: string) => Notebook): string[] {
  const out: string[] = [];
  for (const region of docRegions(markdown)) {
    const shown = new Map(region.notebooks.map((nb) => [nb, notebookNumbers(readBook(nb))]));
    const union = [...shown.values()].flat().sort((a, b) => a - b);
    const lines = region.text.split("\n");
    for (const q of quotedNumbers(region.text)) {
      const text = lines[q.line - 1];
      const named = region.notebooks.find((nb) => text.includes("`" + nb.replace(/^.*\//, "").replace(/\.ipynb$/, "") + "`"));
      if (found(q, named !== undefined ? shown.get(named)! : union)) continue;
      const trimmed = text.trim();
      out.push(`line ${region.line + q.line - 1}: ${q.text} is not in ${named ?? region.notebooks.join(" or ")}: "${trimmed.length > 110 ? trimmed.slice(0, 109) + "…" : trimmed}"`);
    }
  }
  return out;
}
