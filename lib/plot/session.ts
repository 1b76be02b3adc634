/**
 * Per-process (= per kernel session) plot state: a counter for stable element ids and whether
 * plotly.js has been embedded for the page that shows the outputs. A fresh kernel runs a notebook
 * top to bottom, so the first figure carries the library and the element ids repeat from run to
 * run. A page reload loses the library while the kernel keeps running; the front end then
 * reconnects (a kernel_info request), and the next figure embeds the library again.
 */
import { frontEndConnections } from "./display";

/** When figures embed plotly.js in their HTML fallback. */
export type PlotlyEmbedding = "once" | "always" | "never";

const state = {
  counter: 0,
  libraryEmbedded: false,
  /** frontEndConnections() when the library was last embedded. */
  embeddedForConnection: undefined as number | undefined,
  embedding: "once" as PlotlyEmbedding,
};

/**
 * `once` (default): the first figure of the session, and the first after a front end
 * (re)connects, carries plotly.js; `always`: every figure does (large, but each output stands
 * alone); `never`: none (the page must provide Plotly).
 */
export function setPlotlyEmbedding(mode: PlotlyEmbedding): void {
  if (mode !== "once" && mode !== "always" && mode !== "never") {
    throw new Error(`setPlotlyEmbedding: expected "once", "always" or "never", got '${String(mode)}'`);
  }
  state.embedding = mode;
}

/** Starts numbering again and makes the next figure carry plotly.js (as in a fresh kernel). */
export function resetPlotSession(): void {
  state.counter = 0;
  state.libraryEmbedded = false;
}

/**
 * Reserves the next figure number and says whether this figure must embed plotly.js.
 * `connections` is the front-end connection count (default: asked from the kernel).
 */
export function nextFigureSlot(connections: number | undefined = frontEndConnections()): { index: number; includeLibrary: boolean } {
  state.counter += 1;
  if (state.libraryEmbedded && connections !== state.embeddedForConnection) state.libraryEmbedded = false;
  const includeLibrary = state.embedding === "always" || (state.embedding === "once" && !state.libraryEmbedded);
  if (includeLibrary) {
    state.libraryEmbedded = true;
    state.embeddedForConnection = connections;
  }
  return { index: state.counter, includeLibrary };
}
