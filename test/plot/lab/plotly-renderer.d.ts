// The module lab-page.ts resolves to plotly's JupyterLab renderer (or plotly-standin.ts).
declare module "linearity-plotly-renderer" {
  import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
  const extensions: { id: string; rendererFactory: IRenderMime.IRendererFactory; rank?: number }[];
  export default extensions;
}
