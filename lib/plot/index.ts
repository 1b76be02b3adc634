/**
 * Notebook display helpers: Plotly charts as one MIME bundle (Plotly JSON + self-contained HTML)
 * and tables as HTML. Inside a tslab kernel they display; in plain Node they return the bundle.
 */
export type { PlotlyFigure, PlotlyTrace } from "./figure";
export { roundSignificant } from "./figure";
export type { MimeBundle } from "./display";
export { displayBundle, inKernel } from "./display";
export { PLOTLY_MIME, figureBundle, plotFigure } from "./bundle";
export type { FigureOptions } from "./bundle";
export { lineChart, lineFigure, histogram, histogramFigure, heatmap, heatmapFigure, barChart, barFigure, binValues } from "./charts";
export type { LineChartSpec, LineSeries, HistogramSpec, HeatmapSpec, BarChartSpec, AxisTitles } from "./charts";
export { showTable, tableBundle, formatCell } from "./table";
export type { TableInput, TableOptions, DataFrameLike } from "./table";
export { setPlotlyEmbedding, resetPlotSession } from "./session";
export type { PlotlyEmbedding } from "./session";
export { tokenHeatmap, tokenHeatmapBundle, tokenHeatmapHtml } from "./token-heatmap";
export type { TokenHeatmapSpec, TokenHeatmapRow } from "./token-heatmap";
