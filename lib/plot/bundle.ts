/**
 * A Plotly figure as one display bundle: `application/vnd.plotly.v1+json` for JupyterLab's
 * Plotly renderer, `text/html` (self-contained, see html.ts) for the classic notebook,
 * nbconvert HTML and other front ends, and a one-line `text/plain` for text-only front ends.
 */
import { displayBundle, MimeBundle } from "./display";
import { DEFAULT_CONFIG, DEFAULT_SIGNIFICANT_DIGITS, PlotlyFigure, roundDeep } from "./figure";
import { figureHash, figureHtml } from "./html";
import { nextFigureSlot } from "./session";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

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
  const title = (fig.layout.title as { text?: string } | undefined)?.text;
  const kinds = [...new Set(fig.data.map((t) => t.type))].join(", ");
  return `<Plotly figure${title ? ` '${title}'` : ""}: ${fig.data.length} trace${fig.data.length === 1 ? "" : "s"} (${kinds})>`;
}

/** The MIME bundle for `fig` (takes the next figure slot: id number, library once). */
export function figureBundle(fig: PlotlyFigure, opts: FigureOptions = {}): MimeBundle {
  const prepared = prepareFigure(fig, opts);
  const slot = nextFigureSlot();
  const divId = `linearity-plot-${slot.index}-${figureHash(prepared)}`;
  return {
    [PLOTLY_MIME]: prepared,
    "text/html": figureHtml(prepared, divId, slot.includeLibrary),
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
