import { describe, expect, test } from "vitest";
import { barFigure, heatmapFigure, lineFigure } from "../../lib/plot/charts";
import { colorAt, escapeXml, figureSvg } from "../../lib/plot/svg";
import { categoryScale, linearScale, niceTicks } from "../../lib/plot/ticks";

const attr = (el: string, name: string) => Number(new RegExp(` ${name}="([^"]+)"`).exec(el)![1]);
const elements = (svg: string, tag: string) => svg.match(new RegExp(`<${tag}\\b[^>]*>`, "g")) ?? [];

describe("ticks", () => {
  test("nice ticks step by 1, 2 or 5 times a power of ten and stay inside the range", () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-1.3, 1.3)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(0.99996, 1.00001)).toEqual([0.99996, 0.99997, 0.99998, 0.99999, 1, 1.00001]);
  });

  test("scales map the ends of the range to the ends of the pixel span", () => {
    const s = linearScale(0, 10, 100, 300);
    expect(s.at(0)).toBe(100);
    expect(s.at(10)).toBe(300);
    expect(s.at(2.5)).toBe(150);
    const c = categoryScale(["a", "b", "c", "d"], 0, 400);
    expect([c.at("a"), c.at("d"), c.band]).toEqual([50, 350, 100]);
  });
});

describe("static SVG of a figure", () => {
  test("a line chart: one polyline per series through the right pixels, markers, dashes, legend", () => {
    const fig = lineFigure({ title: "T & <t>", x: [0, 1, 2], series: [{ name: "a", y: [0, 1, 2] }, { name: "b", y: [2, 1, 0], dash: "dot", markers: false }], yRange: [0, 2] });
    const svg = figureSvg(fig);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain(">T &amp; &lt;t&gt;</text>");
    const lines = elements(svg, "polyline");
    expect(lines).toHaveLength(2);
    // Series a rises from bottom-left to top-right of the plot area, b the other way.
    const pts = (el: string) => /points="([^"]+)"/.exec(el)![1].split(" ").map((p) => p.split(",").map(Number));
    const [a, b] = lines.map(pts);
    expect(a[0][0]).toBeLessThan(a[2][0]);
    expect(a[0][1]).toBeGreaterThan(a[2][1]);
    expect(b[0][1]).toBeCloseTo(a[2][1], 6);
    // Evenly spaced x values are evenly spaced pixels.
    expect(Math.abs(a[1][0] - a[0][0] - (a[2][0] - a[1][0]))).toBeLessThan(0.11);
    expect(lines[1]).toContain('stroke-dasharray="2,3"');
    expect(elements(svg, "circle")).toHaveLength(3); // markers for a only
    expect(svg).toContain(">a</text>");
    expect(svg).toContain(">b</text>");
  });

  test("error bars: one capped vertical path per point from its low to its high end, inside the autoscaled range", () => {
    const fig = lineFigure({ x: [0, 1, 2], series: [{ name: "a", y: [0.5, 0.6, 0.7], errorBars: { low: [0.4, 0.6, NaN], high: [0.8, 0.65, NaN] } }] });
    const svg = figureSvg(fig);
    const bars = elements(svg, "path").filter((el) => el.includes('class="error-bar"'));
    expect(bars).toHaveLength(2); // the NaN point has none
    const ends = (el: string) => /d="M([\d.]+),([\d.]+)V([\d.]+)/.exec(el)!.slice(1).map(Number);
    const [x0, lo0, hi0] = ends(bars[0]);
    const [, lo1, hi1] = ends(bars[1]);
    const markers = elements(svg, "circle").map((el) => [Number(/cx="([\d.]+)"/.exec(el)![1]), Number(/cy="([\d.]+)"/.exec(el)![1])]);
    expect(Math.abs(x0 - markers[0][0])).toBeLessThan(0.11);
    // y = 0.5 sits at a quarter of the bar from its low end (0.4) to its high end (0.8), in pixels (y grows downwards).
    expect(Math.abs((lo0 - markers[0][1]) / (lo0 - hi0) - 0.25)).toBeLessThan(0.01);
    expect(Math.abs(lo1 - markers[1][1])).toBeLessThan(0.11); // low end = y
    expect(hi1).toBeLessThan(lo1);
    // The autoscaled axis makes room for the top of the first bar (0.8, above every y).
    expect(hi0).toBeGreaterThan(0);
    expect(hi0).toBeLessThan(markers[2][1]);
  });

  test("a gap (null) breaks the line into two polylines", () => {
    const svg = figureSvg({ data: [{ type: "scatter", mode: "lines", y: [1, 2, null, 3, 4] }], layout: {} });
    expect(elements(svg, "polyline")).toHaveLength(2);
  });

  test("bars start at zero and heights are proportional to the values", () => {
    const svg = figureSvg(barFigure({ x: ["p", "q"], series: [{ name: "s", y: [1, 3] }] }));
    const rects = elements(svg, "rect").filter((r) => r.includes('fill="#1f77b4"'));
    expect(rects).toHaveLength(2);
    const [h1, h3] = rects.map((r) => attr(r, "height"));
    expect(Math.abs(h3 / h1 - 3)).toBeLessThan(0.02);
    const bottoms = rects.map((r) => attr(r, "y") + attr(r, "height"));
    expect(Math.abs(bottoms[0] - bottoms[1])).toBeLessThan(0.11);
  });

  test("a heatmap: one cell per finite value, colours at zmin/zmax are the scale's ends, labels", () => {
    const svg = figureSvg(heatmapFigure({ z: [[0, 1], [NaN, 0.5]], zmin: 0, zmax: 1, labelDecimals: 1, colorbarTitle: "score" }));
    const cells = elements(svg, "rect").filter((r) => /fill="#[0-9a-f]{6}"/.test(r) && !r.includes('fill="white"'));
    // 0 and 1 are Viridis' ends; 0.5 is its middle stop (the 9th of 17).
    expect(cells.map((r) => /fill="(#[0-9a-f]{6})"/.exec(r)![1])).toEqual(["#440154", "#fde725", "#21918c"]);
    expect(cells).toHaveLength(3); // the NaN cell is empty
    expect(svg).toContain(">0.5</text>");
    expect(svg).toContain(">score</text>");
  });

  test("colour interpolation and XML escaping", () => {
    expect(colorAt(["#000000", "#ffffff"], 0.5)).toBe("#808080");
    expect(colorAt(["#000000", "#ff0000", "#ffffff"], 0.25)).toBe("#800000");
    expect(escapeXml(`<a href="x">&</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
  });

  test("the picture depends only on the figure (stored notebooks stay reproducible)", () => {
    const make = () => figureSvg(lineFigure({ series: [{ name: "a", y: [0.1, 0.25, 0.2] }] }));
    expect(make()).toBe(make());
  });
});
