/**
 * A Plotly figure as one display bundle: `application/vnd.plotly.v1+json` for JupyterLab's
 * Plotly renderer, `text/html` (self-contained, see html.ts) for the classic notebook,
 * nbconvert HTML and other front ends, `image/svg+xml` (a static picture drawn here, svg.ts) for
 * front ends and exports that run no scripts, and a one-line `text/plain` for text-only ones.
 * The HTML shows the same picture until its script draws the interactive plot.
 */
import { displayBundle, MimeBundle } from "./display";
import { DEFAULT_CONFIG, DEFAULT_SIGNIFICANT_DIGITS, PlotlyFigure, roundDeep } from "./figure";
import { figureHash, figureHtml } from "./html";
import { nextFigureSlot } from "./session";
import { figureSvg } from "./svg";

/** The MIME type of Plotly's JSON figure, rendered by JupyterLab's Plotly extension and VS Code. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** Options every chart takes: the significant digits its numbers are rounded to (default 4). */
export interface FigureOptions {
  /** Significant digits kept in the figure's numbers (default 4; Infinity keeps them all). */
  digits?: number;
}

/** Rounds the figure's numbers and fills the default config. */
export function prepareFigure(fig: PlotlyFigure, opts: FigureOptions = {}): PlotlyFigure {
  if (!fig || !Array.isArray(fig.data)) throw new Error("plotFigure: 'fig.data' must be an array of traces");
  const digits = opts.digits ?? DEFAULT_SIGNIFICANT_DIGITS;
  const data = (Number.isFinite(digits) ? roundDeep(fig.data, digits) : fig.data) as PlotlyFigure["data"];
  return { data, layout: fig.layout ?? {}, config: { ...DEFAULT_CONFIG, ...(fig.config ?? {}) } };
}

function describe(fig: PlotlyFigure): string {
  const title = (fig.layout.title as { text?: string } | undefined)?.text?.replace(/<br\s*\/?>/gi, " ");
  const kinds = [...new Set(fig.data.map((t) => t.type))].join(", ");
  return `<Plotly figure${title ? ` '${title}'` : ""}: ${fig.data.length} trace${fig.data.length === 1 ? "" : "s"} (${kinds})>`;
}

/**
 * The MIME bundle for `fig` (takes the next figure slot: id number, library once per front-end
 * connection). `connections` overrides the kernel's connection count (tests).
 */
export function figureBundle(fig: PlotlyFigure, opts: FigureOptions = {}, connections?: number): MimeBundle {
  const prepared = prepareFigure(fig, opts);
  const slot = connections === undefined ? nextFigureSlot() : nextFigureSlot(connections);
  const divId = `linearity-plot-${slot.index}-${figureHash(prepared)}`;
  const svg = figureSvg(prepared);
  return {
    [PLOTLY_MIME]: prepared,
    "text/html": figureHtml(prepared, divId, slot.includeLibrary, svg),
    "image/svg+xml": svg,
    "text/plain": describe(prepared),
  };
}

/**
 * Shows any Plotly figure in the notebook. Inside a tslab kernel it displays and returns
 * undefined (so a trailing call prints nothing); in plain Node it returns the bundle.
 */
export function plotFigure(fig: PlotlyFigure, opts: FigureOptions = {}): MimeBundle | undefined {
  const bundle = figureBundle(fig, opts);
  return displayBundle(bundle) ? undefined : bundle;
}
