/**
 * Per-process (= per kernel session) plot state: a counter for stable element ids and whether
 * plotly.js has been embedded yet. A fresh kernel runs a notebook top to bottom, so the first
 * figure carries the library and the element ids repeat from run to run.
 */

/** When figures embed plotly.js in their HTML fallback. */
export type PlotlyEmbedding = "once" | "always" | "never";

const state = { counter: 0, libraryEmbedded: false, embedding: "once" as PlotlyEmbedding };

/**
 * `once` (default): the first figure of the session carries plotly.js; `always`: every figure
 * does (large, but each output stands alone); `never`: none (the page must provide Plotly).
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

/** Reserves the next figure number and says whether this figure must embed plotly.js. */
export function nextFigureSlot(): { index: number; includeLibrary: boolean } {
  state.counter += 1;
  const includeLibrary = state.embedding === "always" || (state.embedding === "once" && !state.libraryEmbedded);
  if (includeLibrary) state.libraryEmbedded = true;
  return { index: state.counter, includeLibrary };
}
