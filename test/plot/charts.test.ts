import { describe, expect, test } from "vitest";
import { barFigure, binValues, heatmapFigure, histogramFigure, lineFigure } from "../../lib/plot/charts";
import { roundDeep, roundSignificant } from "../../lib/plot/figure";

describe("rounding", () => {
  test("roundSignificant keeps 4 significant digits by default; non-finite becomes null", () => {
    expect(roundSignificant(0.972134567)).toBe(0.9721);
    expect(roundSignificant(12345.678)).toBe(12350);
    expect(roundSignificant(-0.000123456)).toBe(-0.0001235);
    expect(roundSignificant(NaN)).toBeNull();
    expect(roundSignificant(-1e-300 * 1e-300)).toBe(0);
    expect(roundDeep({ y: new Float32Array([0.5, 1 / 3]), n: "x" })).toEqual({ y: [0.5, 0.3333], n: "x" });
  });
});

describe("binValues", () => {
  test("counts agree with a direct count per bin (independent loop)", () => {
    const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.7) * 3);
    const bins = 12;
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const b = binValues(values, bins, lo, hi);
    const width = (hi - lo) / bins;
    for (let k = 0; k < bins; k++) {
      const left = lo + k * width;
      const right = lo + (k + 1) * width;
      const direct = values.filter((v) => v >= left && (k === bins - 1 ? v <= hi : v < right)).length;
      expect(Math.abs(b.counts[k] - direct)).toBeLessThanOrEqual(1); // a value on a bin edge may land either side of float rounding
      expect(Math.abs(b.centers[k] - (left + right) / 2)).toBeLessThan(1e-12);
    }
    expect(b.counts.reduce((a, c) => a + c, 0)).toBe(1000);
  });

  test("values outside the range and non-finite values are counted apart", () => {
    const b = binValues([0, 0.5, 1, 2, -1, NaN, Infinity], 2, 0, 1);
    expect(b.counts).toEqual([1, 2]);
    expect(b.outside).toBe(2);
    expect(b.nonFinite).toBe(2);
  });

  test("a degenerate range gets one unit-wide span; bad bin counts throw", () => {
    expect(binValues([3, 3, 3], 1, 3, 3).counts).toEqual([3]);
    expect(() => binValues([1], 0, 0, 1)).toThrow("histogram: 'bins' must be a positive integer, got 0");
  });
});

describe("figures", () => {
  test("lineFigure: one scatter trace per series, reference lines span the x range", () => {
    const fig = lineFigure({ title: "T", x: [0, 1, 2], series: [{ name: "a", y: [1, 2, 3] }, { name: "b", y: [3, 2, 1], dash: "dot" }], hlines: [{ y: 0.5, name: "base" }] });
    expect(fig.data.map((t) => [t.type, t.name])).toEqual([["scatter", "a"], ["scatter", "b"], ["scatter", "base"]]);
    expect(fig.data[2]).toMatchObject({ x: [0, 2], y: [0.5, 0.5] });
    expect(fig.data[1].line).toEqual({ dash: "dot" });
    expect(fig.layout.title).toMatchObject({ text: "T" });
  });

  test("lineFigure: error bars become Plotly's asymmetric error_y (distances above and below each y)", () => {
    const fig = lineFigure({ series: [{ name: "s", y: [0.5, 0.9], errorBars: { low: [0.25, 0.8], high: [0.75, 1] } }] });
    const e = fig.data[0].error_y as { array: number[]; arrayminus: number[]; symmetric: boolean; type: string };
    expect(e).toMatchObject({ type: "data", symmetric: false, visible: true });
    expect(e.array.map((v, i) => Math.abs(v - [0.25, 0.1][i]))).toEqual([0, expect.any(Number)]);
    expect(Math.abs(e.array[1] - 0.1)).toBeLessThan(1e-12);
    expect(Math.abs(e.arrayminus[0] - 0.25) + Math.abs(e.arrayminus[1] - 0.1)).toBeLessThan(1e-12);
    expect(() => lineFigure({ series: [{ name: "s", y: [0.5], errorBars: { low: [0.6], high: [0.7] } }] })).toThrow("lineChart: series 's' point 0: error bar [0.6, 0.7] does not contain y = 0.5");
    expect(() => lineFigure({ series: [{ name: "s", y: [0.5, 1], errorBars: { low: [0.4], high: [0.7] } }] })).toThrow("series 's' has 2 y values but error bars of 1 and 1");
  });

  test("lineFigure errors name the series", () => {
    expect(() => lineFigure({ series: [] })).toThrow("lineChart: 'series' must hold at least one series");
    expect(() => lineFigure({ x: [0, 1], series: [{ name: "a", y: [1, 2, 3] }] })).toThrow("lineChart: series 'a' has 3 y values but 2 x values");
  });

  test("histogramFigure: bars from binned counts; several samples share the bins", () => {
    const fig = histogramFigure({ values: [{ name: "a", values: [0, 0, 1] }, { name: "b", values: [1, 2] }], bins: 2 });
    expect(fig.data.map((t) => t.y)).toEqual([[2, 1], [0, 2]]);
    expect(fig.data[0].x).toEqual([0.5, 1.5]);
    expect(histogramFigure({ values: new Float32Array([1, 1, 2, 2]), bins: 2, norm: "probability" }).data[0].y).toEqual([0.5, 0.5]);
    expect(() => histogramFigure({ values: [NaN] })).toThrow("histogram: no finite values to bin");
  });

  test("heatmapFigure: NaN cells become gaps; ragged rows are rejected", () => {
    const fig = heatmapFigure({ z: [[1, NaN], [0.5, 0.25]], labelDecimals: 1 });
    expect(fig.data[0].z).toEqual([[1, null], [0.5, 0.25]]);
    expect(fig.data[0].text).toEqual([["1.0", ""], ["0.5", "0.3"]]);
    expect(() => heatmapFigure({ z: [[1, 2], [3]] })).toThrow("heatmap: row 1 of 'z' has 1 values, row 0 has 2");
  });

  test("barFigure checks lengths", () => {
    expect(barFigure({ x: ["a", "b"], series: [{ name: "s", y: [1, 2] }] }).data[0]).toMatchObject({ type: "bar", x: ["a", "b"], y: [1, 2] });
    expect(() => barFigure({ x: ["a"], series: [{ name: "s", y: [1, 2] }] })).toThrow("barChart: series 's' has 2 values for 1 categories");
  });
});
