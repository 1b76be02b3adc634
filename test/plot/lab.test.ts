/**
 * JupyterLab renders the committed notebooks' outputs: each notebook's stored outputs go through
 * JupyterLab 4's own OutputArea and RenderMimeRegistry (npm @jupyterlab/outputarea and
 * @jupyterlab/rendermime, bundled by esbuild) in headless Chromium, trusted and untrusted, with
 * and without a Plotly renderer like the one in the plotly package >= 6.1 (test/plot/lab/page.ts).
 * Skipped, with a notice, when Chromium is not installed (.ci/run installs Debian's chromium).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { listNotebooks } from "../../scripts/notebook-paths";
import { buildLabPage, findChromium, runPage } from "./lab/lab-page";

interface LabRecord {
  notebook: string;
  cell: number;
  output: number;
  trusted: boolean;
  isPlot: boolean;
  mime: string | null;
  drawn: boolean;
  staticPicture: boolean;
  note: string;
  classic?: { staticPicture: boolean; note: string; scripts: number };
}

const root = path.resolve(__dirname, "../..");
const notebooks = listNotebooks(path.join(root, "notebooks"));
const chromium = findChromium();
if (!chromium) console.warn("test/plot/lab.test.ts: SKIPPED, no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chrome)");

describe.skipIf(!chromium)("JupyterLab 4 renders every committed notebook's outputs (headless Chromium)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-page-"));
  let page = "";
  const results: Record<string, LabRecord[]> = {};
  beforeAll(async () => {
    page = await buildLabPage(notebooks, dir);
    for (const hash of ["plotly", "none"]) {
      const r = runPage(chromium!, page, hash) as { records?: LabRecord[]; error?: string };
      if (r.error) throw new Error(`page error (#${hash}): ${r.error}`);
      results[hash] = r.records!;
    }
  }, 240_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const plots = (hash: string, trusted: boolean) => results[hash].filter((r) => r.isPlot && r.trusted === trusted);
  const where = (r: LabRecord) => `${r.notebook} cell ${r.cell} output ${r.output}`;

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

  test("every other output renders with some MIME type in both modes", () => {
    const bad = [...results.plotly, ...results.none].filter((r) => !r.isPlot && r.mime === null);
    expect(bad.map(where)).toEqual([]);
  });
});
