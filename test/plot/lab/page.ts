/**
 * Browser side of the JupyterLab rendering check (bundled by lab-page.ts with esbuild, run in
 * headless Chromium by lab.test.ts). It renders each notebook's stored outputs the way
 * JupyterLab 4 does: JupyterLab's own OutputAreaModel, OutputArea and RenderMimeRegistry (with
 * its standard renderers and its HTML sanitizer), once trusted and once untrusted.
 *
 * With `#plotly` in the URL it also registers a Plotly MIME renderer with the rank (2) and
 * safety (safe) of the one in the `plotly` Python package >= 6.1 (plotly.py js/src/mimeExtension.ts),
 * drawing with Plotly.react from a bundled plotly.js: JupyterLab with environment.yml's
 * extension. Without it, JupyterLab has no Plotly renderer and nothing on the page defines
 * window.Plotly, so a plot draws only if the output's own HTML brings plotly.js.
 *
 * It also shows each plot's HTML as the classic notebook 6.5 shows an untrusted output: through
 * the same sanitizer with no CSS allowed (notebook's static/base/js/security.js calls
 * `defaultSanitizer.sanitize(html, { allowedStyles: {} })`), no scripts run.
 *
 * When done it writes one JSON record per output into <pre id="result">.
 */
import { Sanitizer } from "@jupyterlab/apputils";
import { OutputArea, OutputAreaModel } from "@jupyterlab/outputarea";
import { RenderMimeRegistry, standardRendererFactories } from "@jupyterlab/rendermime";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
// The CommonJS build of plotly.js exports the library and leaves window.Plotly alone.
import * as PlotlyModule from "plotly.js-dist-min";

interface StoredCell {
  notebook: string;
  cell: number;
  outputs: Record<string, unknown>[];
}

const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** The stand-in for plotly's JupyterLab renderer: same MIME type, rank and safety, Plotly.react. */
class RenderedPlotly extends Widget implements IRenderMime.IRenderer {
  constructor(private readonly mimeType: string) {
    super();
    this.addClass("jp-RenderedPlotly");
  }
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const { data, layout, config } = model.data[this.mimeType] as { data: unknown[]; layout: Record<string, unknown>; config?: Record<string, unknown> };
    const plotly = (PlotlyModule as unknown as { default?: { react: Function } }).default ?? (PlotlyModule as unknown as { react: Function });
    await plotly.react(this.node, data, { ...layout }, config);
  }
}
const plotlyFactory: IRenderMime.IRendererFactory = { safe: true, mimeTypes: [PLOTLY_MIME], createRenderer: (o) => new RenderedPlotly(o.mimeType) };

async function main(): Promise<void> {
  const withExtension = location.hash.includes("plotly");
  const cells = (window as unknown as { NOTEBOOK_CELLS: StoredCell[] }).NOTEBOOK_CELLS;
  const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
  if (withExtension) rendermime.addFactory(plotlyFactory, 2);
  const areas: { cell: StoredCell; trusted: boolean; area: OutputArea }[] = [];
  // Untrusted first: a trusted output that embeds plotly.js must not help the untrusted ones.
  for (const trusted of [false, true]) {
    for (const cell of cells) {
      const model = new OutputAreaModel({ trusted });
      model.fromJSON(cell.outputs as never);
      const area = new OutputArea({ model, rendermime });
      Widget.attach(area, document.getElementById(trusted ? "trusted" : "untrusted")!);
      areas.push({ cell, trusted, area });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  // The classic notebook's untrusted view of each plot's HTML.
  const sanitizer = new Sanitizer();
  const classic = new Map<string, HTMLElement>();
  for (const cell of cells) {
    cell.outputs.forEach((output, k) => {
      const html = ((output.data ?? {}) as Record<string, unknown>)["text/html"];
      if (typeof html !== "string" || !(PLOTLY_MIME in ((output.data ?? {}) as object))) return;
      const div = document.createElement("div");
      div.innerHTML = sanitizer.sanitize(html, { allowedStyles: {} });
      document.getElementById("classic")!.appendChild(div);
      classic.set(`${cell.notebook}/${cell.cell}/${k}`, div);
    });
  }
  // Let scripts load plotly.js and draw (virtual time in headless Chromium).
  await new Promise((r) => setTimeout(r, 3000));
  const records = areas.flatMap(({ cell, trusted, area }) =>
    cell.outputs.map((output, k) => {
      const data = (output.data ?? {}) as Record<string, unknown>;
      const node = area.widgets[k]?.node;
      const img = node?.querySelector("img.linearity-plot-static") as HTMLImageElement | null;
      return {
        notebook: cell.notebook,
        cell: cell.cell,
        output: k,
        trusted,
        isPlot: PLOTLY_MIME in data,
        mime: output.output_type === "stream" ? `stream:${String(output.name)}` : output.output_type === "error" ? "error" : rendermime.preferredMimeType(data as never, trusted ? "any" : "ensure") ?? null,
        drawn: Boolean(node?.querySelector(".main-svg")),
        staticPicture: Boolean(img && img.naturalWidth > 0 && img.getAttribute("src")?.startsWith("data:image/svg+xml;base64,")),
        note: (node?.querySelector(".linearity-plot-note")?.textContent ?? "").slice(0, 60),
        text: (node?.textContent ?? "").slice(0, 80),
        classic: classicView(classic.get(`${cell.notebook}/${cell.cell}/${k}`)),
      };
    }),
  );
  document.getElementById("result")!.textContent = JSON.stringify({ withExtension, records });
}

/** What the classic notebook shows for an untrusted plot: the picture and the note, no script. */
function classicView(div: HTMLElement | undefined): { staticPicture: boolean; note: string; scripts: number } | undefined {
  if (!div) return undefined;
  const img = div.querySelector("img.linearity-plot-static") as HTMLImageElement | null;
  return {
    staticPicture: Boolean(img && img.naturalWidth > 0),
    note: (div.querySelector(".linearity-plot-note")?.textContent ?? "").slice(0, 60),
    scripts: div.querySelectorAll("script").length,
  };
}

main().catch((e: Error) => {
  document.getElementById("result")!.textContent = JSON.stringify({ error: String(e && e.stack ? e.stack : e) });
});
