/**
 * JupyterLab renders the committed notebooks' outputs: each notebook's stored outputs go through
 * JupyterLab 4's own OutputArea and RenderMimeRegistry (npm @jupyterlab/outputarea and
 * @jupyterlab/rendermime, bundled by esbuild) in headless Chromium, trusted and untrusted, with
 * and without plotly's own JupyterLab MIME renderer (npm jupyterlab-plotly; test/plot/lab/page.ts).
 * A plot counts as drawn only when Plotly drew one trace per trace of its figure, at a non-zero
 * size; broken copies of 00-smoke (empty `data`, a trace that draws nothing) show the check fails.
 * Skipped, with a notice, when Chromium is not installed (.ci/run installs Debian's chromium).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PLOTLY_MIME } from "../../lib/plot/bundle";
import { listNotebooks } from "../../scripts/notebook-paths";
import { readNotebook, writeNotebook } from "../../tools/notebook-harness/nbformat";
import { buildLabPage, findChromium, plotlyLabRenderer, runPage } from "./lab/lab-page";

interface LabRecord {
  notebook: string;
  cell: number;
  output: number;
  trusted: boolean;
  isPlot: boolean;
  mime: string | null;
  drawn: boolean;
  plot?: { expected: number; traces: number; width: number; height: number };
  staticPicture: boolean;
  note: string;
  classic?: { staticPicture: boolean; note: string; scripts: number };
}

const root = path.resolve(__dirname, "../..");
const notebooks = listNotebooks(path.join(root, "notebooks"));
const chromium = findChromium();
if (!chromium) console.warn("test/plot/lab.test.ts: SKIPPED, no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chrome)");
if (chromium && !plotlyLabRenderer()) console.warn("test/plot/lab.test.ts: npm jupyterlab-plotly is not installed: the Plotly JSON is drawn by a stand-in renderer (npm ci installs it)");

type PageResult = { records?: LabRecord[]; renderer?: string; error?: string };

function renderPage(page: string, hash: string): LabRecord[] {
  const r = runPage(chromium!, page, hash) as PageResult;
  if (r.error) throw new Error(`page error (#${hash}): ${r.error}`);
  if (hash === "plotly" && plotlyLabRenderer()) expect(r.renderer, "plotly's own renderer ran").toBe("@jupyterlab/plotly-extension:factory");
  return r.records!;
}

describe.skipIf(!chromium)("JupyterLab 4 renders every committed notebook's outputs (headless Chromium)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-page-"));
  let page = "";
  const results: Record<string, LabRecord[]> = {};
  beforeAll(async () => {
    page = await buildLabPage(notebooks, dir);
    for (const hash of ["plotly", "none"]) results[hash] = renderPage(page, hash);
  }, 240_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const plots = (hash: string, trusted: boolean) => results[hash].filter((r) => r.isPlot && r.trusted === trusted);
  const where = (r: LabRecord) => `${r.notebook} cell ${r.cell} output ${r.output} (${r.plot ? `${r.plot.traces}/${r.plot.expected} traces, ${Math.round(r.plot.width)}x${Math.round(r.plot.height)}` : "no plot"})`;

  test("every notebook has plots on the page", () => {
    for (const nb of notebooks.map((f) => path.basename(f)).filter((n) => fs.readFileSync(path.join(root, "notebooks", n), "utf8").includes("application/vnd.plotly.v1+json"))) {
      expect(plots("plotly", true).some((r) => r.notebook === nb), nb).toBe(true);
    }
  });

  test("with the Plotly extension, trusted or not, the Plotly JSON renders and every plot draws", () => {
    for (const trusted of [true, false]) {
      const bad = plots("plotly", trusted).filter((r) => r.mime !== "application/vnd.plotly.v1+json" || !r.drawn);
      expect(bad.map(where), `trusted=${trusted}`).toEqual([]);
      expect(plots("plotly", trusted).length).toBeGreaterThan(0);
    }
  });

  test("without it, trusted: the HTML fallback renders and draws with its embedded plotly.js", () => {
    const bad = plots("none", true).filter((r) => r.mime !== "text/html" || !r.drawn);
    expect(bad.map(where)).toEqual([]);
  });

  test("without it, untrusted (a fresh clone): sanitized HTML shows the static picture and the trust note, no plot", () => {
    const bad = plots("none", false).filter((r) => r.mime !== "text/html" || !r.staticPicture || !r.note.startsWith("Static picture. For the interactive plot, trust") || r.drawn);
    expect(bad.map(where)).toEqual([]);
  });

  test("classic notebook 6.5, untrusted (its sanitizer, no CSS): the static picture and the note, no script", () => {
    const views = plots("none", false).map((r) => ({ r, v: r.classic }));
    expect(views.length).toBeGreaterThan(0);
    const bad = views.filter(({ v }) => !v || !v.staticPicture || !v.note.startsWith("Static picture.") || v.scripts !== 0);
    expect(bad.map(({ r }) => where(r))).toEqual([]);
  });

  test("a drawn plot has one drawn trace per trace of its figure and a size", () => {
    const drawn = [...results.plotly, ...results.none].filter((r) => r.isPlot && r.drawn);
    expect(drawn.length).toBeGreaterThan(0);
    for (const r of drawn) {
      expect(r.plot!.traces, where(r)).toBe(r.plot!.expected);
      expect(r.plot!.expected, where(r)).toBeGreaterThan(0);
      expect(r.plot!.width * r.plot!.height, where(r)).toBeGreaterThan(0);
    }
  });

  test("every other output renders with some MIME type in both modes", () => {
    const bad = [...results.plotly, ...results.none].filter((r) => !r.isPlot && r.mime === null);
    expect(bad.map(where)).toEqual([]);
  });
});

describe.skipIf(!chromium)("the JupyterLab check fails on broken figures (copies of 00-smoke, headless Chromium)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-broken-"));
  const results: Record<string, LabRecord[]> = {};
  const smoke = path.join(root, "notebooks", "00-smoke.ipynb");
  beforeAll(async () => {
    // Every chart's Plotly JSON with `data: []` (its HTML fallback untouched).
    const empty = readNotebook(smoke);
    for (const c of empty.cells) for (const o of c.cell_type === "code" ? c.outputs : []) if ("data" in o && o.data[PLOTLY_MIME]) (o.data[PLOTLY_MIME] as { data: unknown[] }).data = [];
    writeNotebook(path.join(dir, "broken-empty.ipynb"), empty);
    // The first multi-trace chart with one trace that draws nothing (every y null).
    const blank = readNotebook(smoke);
    const target = blank.cells.flatMap((c) => (c.cell_type === "code" ? c.outputs : [])).find((o) => "data" in o && ((o.data[PLOTLY_MIME] as { data?: unknown[] })?.data?.length ?? 0) > 1);
    const fig = (target as { data: Record<string, { data: { y: unknown[] }[] }> }).data[PLOTLY_MIME];
    fig.data[0].y = fig.data[0].y.map(() => null);
    writeNotebook(path.join(dir, "broken-blank-trace.ipynb"), blank);
    const page = await buildLabPage([path.join(dir, "broken-empty.ipynb"), path.join(dir, "broken-blank-trace.ipynb")], path.join(dir, "page"));
    for (const hash of ["plotly", "none"]) results[hash] = renderPage(page, hash);
  }, 240_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const plotsOf = (hash: string, notebook: string, trusted: boolean) => results[hash].filter((r) => r.isPlot && r.notebook === notebook && r.trusted === trusted);

  test("`data: []`: no plot counts as drawn, with plotly's renderer or the HTML fallback", () => {
    for (const hash of ["plotly", "none"]) {
      for (const trusted of [true, false]) {
        const plots = plotsOf(hash, "broken-empty.ipynb", trusted);
        expect(plots.length, `#${hash} trusted=${trusted}`).toBe(3);
        expect(plots.filter((r) => r.drawn).map((r) => r.cell), `#${hash} trusted=${trusted}`).toEqual([]);
      }
    }
  });

  test("a trace that draws nothing: plotly's renderer draws one trace fewer than the figure has, so the plot is not drawn", () => {
    for (const trusted of [true, false]) {
      const broken = plotsOf("plotly", "broken-blank-trace.ipynb", trusted).filter((r) => r.plot!.expected > 1);
      expect(broken.length).toBe(1);
      expect(broken[0].plot!.traces).toBe(broken[0].plot!.expected - 1);
      expect(broken[0].drawn).toBe(false);
    }
    // The intact charts of the same notebook still draw (the count is per chart).
    expect(plotsOf("plotly", "broken-blank-trace.ipynb", true).filter((r) => r.plot!.expected === 1).every((r) => r.drawn)).toBe(true);
  });
});
