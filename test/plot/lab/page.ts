/**
 * Browser side of the JupyterLab rendering check (bundled by lab-page.ts with esbuild, run in
 * headless Chromium by lab.test.ts). It renders each notebook's stored outputs the way
 * JupyterLab 4 does: JupyterLab's own OutputAreaModel, OutputArea and RenderMimeRegistry (with
 * its standard renderers and its HTML sanitizer), once trusted and once untrusted.
 *
 * With `#plotly` in the URL it also registers plotly's own JupyterLab MIME renderer (npm
 * jupyterlab-plotly, lib/plotly-renderer.js, with its rank and safety; the renderer plotly.py
 * ships as its JupyterLab extension), loading plotly.js from the bundle: JupyterLab with
 * environment.yml's extension. Without it, JupyterLab has no Plotly renderer and nothing on the
 * page defines window.Plotly, so a plot draws only if the output's own HTML brings plotly.js.
 *
 * A plot counts as drawn when its figure has at least one trace, Plotly drew every one of them
 * (a trace group with a visible line, marker, bar or heatmap image) and the plot has a non-zero
 * size: an empty `data: []` or a trace that draws nothing fails.
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
// lab-page.ts resolves this to plotly's own JupyterLab renderer (jupyterlab-plotly's
// lib/plotly-renderer.js), or to plotly-standin.ts where that package cannot be resolved.
import plotlyExtensions from "linearity-plotly-renderer";

interface StoredCell {
  notebook: string;
  cell: number;
  outputs: Record<string, unknown>[];
}

const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** What a plot output drew: traces with visible marks, against the traces its figure has. */
interface PlotCount {
  /** Traces in the figure's data (the Plotly JSON). */
  expected: number;
  /** Trace groups Plotly drew with at least one visible mark (line, marker, bar, heatmap image). */
  traces: number;
  /** The plot's size on the page, in CSS pixels. */
  width: number;
  height: number;
}

/** A path that draws something: not empty, not Plotly's placeholder for a hidden bar or point. */
function visiblePath(p: Element): boolean {
  const d = p.getAttribute("d") ?? "";
  return d.length > 0 && !/^M[-\d.e]+,[-\d.e]+Z$/.test(d);
}

/** Counts the traces Plotly drew in the plots (`.js-plotly-plot`) under `node`, and their size. */
function countPlot(node: Element | undefined, figure: { data?: unknown[] } | undefined): PlotCount {
  const expected = Array.isArray(figure?.data) ? figure!.data!.length : 0;
  let traces = 0;
  let width = 0;
  let height = 0;
  for (const gd of Array.from(node?.querySelectorAll(".js-plotly-plot") ?? [])) {
    const box = gd.getBoundingClientRect();
    width = Math.max(width, box.width);
    height = Math.max(height, box.height);
    const svg = gd.querySelector(".main-svg");
    if (!svg) continue;
    for (const g of Array.from(svg.querySelectorAll("g.trace.scatter"))) if (Array.from(g.querySelectorAll("path.js-line, path.point")).some(visiblePath)) traces++;
    for (const g of Array.from(svg.querySelectorAll("g.trace.bars"))) if (Array.from(g.querySelectorAll("g.point > path")).some(visiblePath)) traces++;
    for (const g of Array.from(svg.querySelectorAll("g.hm"))) {
      const drawnImage = Array.from(g.querySelectorAll("image")).some(
        (i) => (i.getAttribute("href") ?? i.getAttribute("xlink:href") ?? "").startsWith("data:image/") && Number(i.getAttribute("width")) > 0 && Number(i.getAttribute("height")) > 0,
      );
      if (drawnImage) traces++;
    }
  }
  return { expected, traces, width, height };
}

/** A plot is drawn when its figure has traces, Plotly drew each of them, and the plot has a size. */
function isDrawn(c: PlotCount): boolean {
  return c.expected > 0 && c.traces === c.expected && c.width > 0 && c.height > 0;
}

async function main(): Promise<void> {
  const withExtension = location.hash.includes("plotly");
  const cells = (window as unknown as { NOTEBOOK_CELLS: StoredCell[] }).NOTEBOOK_CELLS;
  const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
  const plotlyExtension = (plotlyExtensions as { rendererFactory: IRenderMime.IRendererFactory; rank?: number }[])[0];
  if (withExtension) rendermime.addFactory(plotlyExtension.rendererFactory, plotlyExtension.rank);
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
  const renderer = (plotlyExtension as { id?: string }).id ?? "";
  const records = areas.flatMap(({ cell, trusted, area }) =>
    cell.outputs.map((output, k) => {
      const data = (output.data ?? {}) as Record<string, unknown>;
      const node = area.widgets[k]?.node;
      const img = node?.querySelector("img.linearity-plot-static") as HTMLImageElement | null;
      const plot = PLOTLY_MIME in data ? countPlot(node, data[PLOTLY_MIME] as { data?: unknown[] }) : undefined;
      return {
        notebook: cell.notebook,
        cell: cell.cell,
        output: k,
        trusted,
        isPlot: PLOTLY_MIME in data,
        mime: output.output_type === "stream" ? `stream:${String(output.name)}` : output.output_type === "error" ? "error" : rendermime.preferredMimeType(data as never, trusted ? "any" : "ensure") ?? null,
        plot,
        drawn: plot ? isDrawn(plot) : false,
        staticPicture: Boolean(img && img.naturalWidth > 0 && img.getAttribute("src")?.startsWith("data:image/svg+xml;base64,")),
        note: (node?.querySelector(".linearity-plot-note")?.textContent ?? "").slice(0, 60),
        text: (node?.textContent ?? "").slice(0, 80),
        classic: classicView(classic.get(`${cell.notebook}/${cell.cell}/${k}`)),
      };
    }),
  );
  document.getElementById("result")!.textContent = JSON.stringify({ withExtension, renderer, records });
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
