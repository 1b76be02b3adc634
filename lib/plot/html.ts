/**
 * Self-contained HTML for a Plotly figure: a `<div>` plus a script that draws it, optionally
 * preceded by plotly.js itself (from the plotly.js-dist-min package, no network).
 *
 * Works with and without an AMD loader on the page: nbconvert's HTML templates and the classic
 * notebook load require.js, where a UMD bundle that sees `define.amd` registers an anonymous
 * module and never sets `window.Plotly` ("Mismatched anonymous define()"). The library is
 * therefore evaluated inside a function whose parameters shadow `define`, `exports` and
 * `module`, so it always takes its browser-global branch and sets `window.Plotly`; the page's
 * own `define` is never touched. A guard (`if (!window.Plotly)`) skips the library when the
 * page already has it.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import type { PlotlyFigure } from "./figure";

let libraryCache: { version: string; source: string } | undefined;

/** plotly.js-dist-min's version and minified source (read once). */
export function plotlyLibrary(): { version: string; source: string } {
  if (!libraryCache) {
    const pkgPath = require.resolve("plotly.js-dist-min/package.json");
    const version = (JSON.parse(fs.readFileSync(pkgPath, "utf8")) as { version: string }).version;
    const source = fs.readFileSync(require.resolve("plotly.js-dist-min"), "utf8");
    libraryCache = { version, source };
  }
  return libraryCache;
}

/** Makes text safe inside an inline `<script>`: `</script` would end the element early. */
export function escapeForScript(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1");
}

/** JSON for embedding in a script: `<`, `>`, `&` and the JS-invalid line separators escaped. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The `<script>` element that loads plotly.js into `window.Plotly` unless it is already there. */
export function plotlyLibraryScript(): string {
  const { version, source } = plotlyLibrary();
  return (
    `<script type="text/javascript">/* plotly.js ${version}, embedded once per notebook by linearity-lab */\n` +
    `if (!window.Plotly) {\n(function (define, exports, module) {\n${escapeForScript(source)}\n}).call(window, undefined, undefined, undefined);\n}\n</script>\n`
  );
}

/** A short stable hash of the figure, so element ids differ between figures and notebooks. */
export function figureHash(fig: PlotlyFigure): string {
  return crypto.createHash("sha256").update(JSON.stringify(fig)).digest("hex").slice(0, 10);
}

/** The note shown under the static picture until the interactive plot replaces it. */
export const UNTRUSTED_NOTE =
  "Static picture. For the interactive plot, trust the notebook (File > Trust Notebook, or `jupyter trust`) or re-run the cell.";

/** Shown in place of the note when plotly.js never arrives (the page lost it, e.g. after a reload). */
export const NOT_LOADED_NOTE =
  "Interactive plot not drawn: plotly.js is not loaded in this page. Re-run the cell; if that does not help, run `resetPlotSession()` in a cell first (the next plot then embeds the library), or restart the kernel and run all.";

/**
 * HTML that draws `fig` into a div with id `divId`. When `includeLibrary` is true the plotly.js
 * library comes first. Until the script runs, the div shows `staticSvg` (a picture of the
 * figure) and a note: that is all a front end shows when it runs no scripts (an untrusted
 * notebook, whose sanitizer also strips inline styles). The drawing script clears the div and
 * draws the interactive plot; it waits (up to 60 s) for `window.Plotly`, since a front end may
 * render outputs out of order, and then says in the div why nothing more shows.
 */
export function figureHtml(fig: PlotlyFigure, divId: string, includeLibrary: boolean, staticSvg?: string): string {
  const height = typeof fig.layout.height === "number" ? `${fig.layout.height}px` : "400px";
  const lib = includeLibrary ? plotlyLibraryScript() : "";
  const id = scriptJson(divId);
  const picture = staticSvg
    ? `<img class="linearity-plot-static" alt="static picture of the plot" style="max-width:100%" src="data:image/svg+xml;base64,${Buffer.from(staticSvg, "utf8").toString("base64")}">\n`
    : "";
  return (
    lib +
    `<div id="${divId}" class="linearity-plot">\n${picture}<p class="linearity-plot-note">${escapeHtmlText(UNTRUSTED_NOTE)}</p>\n</div>\n` +
    `<script type="text/javascript">\n(function () {\n` +
    `  var fig = ${scriptJson(fig)};\n` +
    `  var tries = 0;\n` +
    `  function draw() {\n` +
    `    var el = document.getElementById(${id});\n` +
    `    if (!el) return;\n` +
    `    if (window.Plotly) {\n` +
    `      el.textContent = "";\n` +
    `      el.style.width = "100%";\n` +
    `      el.style.height = ${scriptJson(height)};\n` +
    `      window.Plotly.newPlot(el, fig.data, fig.layout, fig.config || {});\n` +
    `      return;\n` +
    `    }\n` +
    `    if (tries++ < 600) { setTimeout(draw, 100); return; }\n` +
    `    var note = el.querySelector(".linearity-plot-note");\n` +
    `    if (note) note.textContent = ${scriptJson(NOT_LOADED_NOTE)};\n` +
    `  }\n` +
    `  draw();\n` +
    `})();\n</script>\n`
  );
}

/** Escapes text for HTML element content. */
export function escapeHtmlText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
