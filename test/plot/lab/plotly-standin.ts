/**
 * Used by the JupyterLab page (page.ts) only where plotly's own JupyterLab renderer (npm
 * jupyterlab-plotly, a devDependency) cannot be resolved: a renderer with its MIME type and
 * safety that draws with Plotly.react from the bundled plotly.js. lab-page.ts says which one
 * the page got.
 */
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
// The CommonJS build of plotly.js exports the library and leaves window.Plotly alone.
import * as PlotlyModule from "plotly.js-dist-min";

const MIME_TYPE = "application/vnd.plotly.v1+json";

class RenderedPlotly extends Widget implements IRenderMime.IRenderer {
  constructor(private readonly mimeType: string) {
    super();
    this.addClass("jp-RenderedPlotly");
  }
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const { data, layout, config } = model.data[this.mimeType] as { data: unknown[]; layout: Record<string, unknown>; config?: Record<string, unknown> };
    const plotly = (PlotlyModule as unknown as { default?: { react: Function } }).default ?? (PlotlyModule as unknown as { react: Function });
    await plotly.react(this.node, data, { height: 360, ...layout }, config);
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = { safe: true, mimeTypes: [MIME_TYPE], createRenderer: (o) => new RenderedPlotly(o.mimeType) };

const extensions = [{ id: "linearity-lab:plotly-standin", rendererFactory, rank: 0 }];
export default extensions;
