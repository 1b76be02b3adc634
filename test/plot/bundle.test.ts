import { beforeEach, describe, expect, test } from "vitest";
import { figureBundle, PLOTLY_MIME, plotFigure } from "../../lib/plot/bundle";
import { lineChart } from "../../lib/plot/charts";
import { inKernel } from "../../lib/plot/display";
import { escapeForScript, plotlyLibrary, scriptJson } from "../../lib/plot/html";
import { resetPlotSession, setPlotlyEmbedding } from "../../lib/plot/session";

const fig = () => ({ data: [{ type: "scatter", y: [1, 2.123456] }], layout: { title: { text: "t" } } });

describe("Plotly display bundles", () => {
  beforeEach(() => {
    resetPlotSession();
    setPlotlyEmbedding("once");
  });

  test("outside a kernel the display functions return the bundle", () => {
    expect(inKernel()).toBe(false);
    const b = lineChart({ series: [{ name: "a", y: [1, 2] }] });
    expect(Object.keys(b!).sort()).toEqual([PLOTLY_MIME, "image/svg+xml", "text/html", "text/plain"]);
  });

  test("one bundle: rounded Plotly JSON with config, HTML fallback, one-line text", () => {
    const b = figureBundle(fig());
    expect(b[PLOTLY_MIME]).toEqual({ data: [{ type: "scatter", y: [1, 2.123] }], layout: { title: { text: "t" } }, config: { responsive: true, displaylogo: false } });
    expect(b["text/plain"]).toBe("<Plotly figure 't': 1 trace (scatter)>");
    expect(figureBundle(fig(), { digits: Infinity })[PLOTLY_MIME]).toMatchObject({ data: [{ y: [1, 2.123456] }] });
  });

  test("the first figure of a session embeds plotly.js once; later ones do not", () => {
    const first = figureBundle(fig())["text/html"] as string;
    const second = figureBundle(fig())["text/html"] as string;
    const { version, source } = plotlyLibrary();
    expect(first.length).toBeGreaterThan(source.length);
    expect(first).toContain(`plotly.js ${version}`);
    expect(first).toContain("if (!window.Plotly)");
    expect(first).toContain("(function (define, exports, module) {");
    expect(second.length).toBeLessThan(5000);
    expect(second).not.toContain("function (define, exports, module)");
  });

  test("after a front end reconnects (a page reload: kernel_info), the next figure embeds plotly.js again", () => {
    const embeds = (connections: number) => (figureBundle(fig(), {}, connections)["text/html"] as string).includes("function (define, exports, module)");
    expect([embeds(3), embeds(3), embeds(3)]).toEqual([true, false, false]);
    expect([embeds(4), embeds(4)]).toEqual([true, false]);
  });

  test("the HTML shows the static picture and a note until its script draws; the SVG is in the bundle too", () => {
    const b = figureBundle(fig());
    const html = b["text/html"] as string;
    const div = html.slice(html.indexOf("<div"), html.indexOf("</div>"));
    const img = /<img class="linearity-plot-static"[^>]* src="data:image\/svg\+xml;base64,([^"]+)">/.exec(div);
    expect(img).not.toBeNull();
    expect(Buffer.from(img![1], "base64").toString("utf8")).toBe(b["image/svg+xml"]);
    expect(div).toContain("trust the notebook (File &gt; Trust Notebook, or `jupyter trust`) or re-run the cell");
    // No inline style on the div: an untrusted notebook's sanitizer strips it; the script sets it.
    expect(div).toMatch(/^<div id="linearity-plot-1-[0-9a-f]+" class="linearity-plot">/);
    expect(html).toContain('el.textContent = "";');
  });

  test("element ids are stable: a counter plus a hash of the figure, repeated after a reset", () => {
    const ids = () => [figureBundle(fig()), figureBundle(fig())].map((b) => /<div id="(linearity-plot-[^"]+)"/.exec(b["text/html"] as string)![1]);
    const run1 = ids();
    resetPlotSession();
    const run2 = ids();
    expect(run1).toEqual(run2);
    expect(run1[0]).toMatch(/^linearity-plot-1-[0-9a-f]{10}$/);
    expect(run1[1]).toMatch(/^linearity-plot-2-/);
    const other = figureBundle({ data: [{ type: "bar", y: [3] }], layout: {} })["text/html"] as string;
    expect(other).not.toContain(run1[0].slice(-10));
  });

  test("embedding modes", () => {
    setPlotlyEmbedding("never");
    expect(figureBundle(fig())["text/html"]).not.toContain("function (define, exports, module)");
    setPlotlyEmbedding("always");
    expect(figureBundle(fig())["text/html"]).toContain("function (define, exports, module)");
    expect(figureBundle(fig())["text/html"]).toContain("function (define, exports, module)");
    expect(() => setPlotlyEmbedding("sometimes" as never)).toThrow(`setPlotlyEmbedding: expected "once", "always" or "never", got 'sometimes'`);
  });

  test("text cannot close the script element early", () => {
    expect(escapeForScript("a</script>b</SCRIPT>")).toBe("a<\\/script>b<\\/SCRIPT>");
    expect(scriptJson({ t: "</script><!--&" })).toBe('{"t":"\\u003c/script\\u003e\\u003c!--\\u0026"}');
    const b = plotFigure({ data: [{ type: "scatter", name: "</script>", y: [1] }], layout: {} })!;
    const html = b["text/html"] as string;
    expect(html.slice(html.indexOf("<div"))).not.toContain("</script><");
  });

  test("bad figures are rejected", () => {
    expect(() => figureBundle({ data: "x" } as never)).toThrow("plotFigure: 'fig.data' must be an array of traces");
  });
});
