import { describe, expect, it } from "vitest";
import { tokenHeatmapBundle, tokenHeatmapHtml } from "../../lib/plot/token-heatmap";

describe("tokenHeatmap", () => {
  const spec = {
    tokens: ["<b>", " x", "\n", "y"],
    rows: [
      { label: "block 0", values: [0, 1, 2, NaN] },
      { label: "block 1", values: [4, 3, 2, 1] },
    ],
    title: "loss & more",
    valueName: "loss (nats)",
  };

  it("colours each token by its value on one global range, with the number on hover, escaped", () => {
    const html = tokenHeatmapHtml(spec);
    // lowest value (0) white, highest (4) the saturated end; NaN uncoloured
    expect(html).toContain('<span style="background:rgb(255,255,255)" title="block 0, token 0 &quot;&lt;b&gt;&quot;: loss (nats) 0.0000">&lt;b&gt;</span>');
    expect(html).toContain('<span style="background:rgb(240,95,40)" title="block 1, token 0');
    expect(html).toContain('<span style="background:transparent" title="block 0, token 3 &quot;y&quot;: loss (nats) n/a">y</span>');
    // value 2 is half way: rgb(255 - 7.5, 255 - 80, 255 - 107.5) rounded
    expect(html).toContain("background:rgb(248,175,148)");
    expect(html).toContain("\u21b5"); // the newline token is shown as ↵
    expect(html).toContain("loss &amp; more");
    expect(html).not.toContain("<script");
    expect(html.match(/<div style="white-space/g)).toHaveLength(2);
    expect(tokenHeatmapBundle(spec)["text/plain"]).toBe("<token heatmap 'loss & more': 2 rows x 4 tokens>");
  });

  it("scales each row to its own range with scale: 'row'", () => {
    const html = tokenHeatmapHtml({ ...spec, scale: "row" });
    // block 1's lowest value (1, last token) is white on its own range
    expect(html).toContain('<span style="background:rgb(255,255,255)" title="block 1, token 3');
  });

  it("rejects rows whose length is not the token count", () => {
    expect(() => tokenHeatmapHtml({ tokens: ["a"], rows: [{ label: "r", values: [1, 2] }] })).toThrow(
      "tokenHeatmap: rows[0] ('r') has 2 values for 1 tokens",
    );
  });
});
