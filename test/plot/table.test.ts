import { describe, expect, test } from "vitest";
import { formatCell, showTable, tableBundle } from "../../lib/plot/table";

describe("tables", () => {
  test("formatCell: integers as is, fractions with fixed decimals, tiny/huge in exponent form", () => {
    expect([formatCell(3), formatCell(0.972134), formatCell(0.972134, 2), formatCell(1e-7), formatCell(2.5e7 + 0.5), formatCell(25000000), formatCell(NaN), formatCell(null), formatCell("a")]).toEqual(["3", "0.9721", "0.97", "1.000e-7", "2.500e+7", "25000000", "NaN", "", "a"]);
  });

  test("a danfojs DataFrame becomes an HTML table with its index and a text table", async () => {
    const dfd = await import("danfojs-node");
    const df = new dfd.DataFrame({ state: [0, 1, 2], norm: [1.66, 2.95, 3.671234], kind: ["emb", "block", "block"] });
    const b = tableBundle(df as never, { title: "Mean norm" });
    const html = b["text/html"] as string;
    expect(html).toContain("<caption");
    expect(html).toContain("<th></th><th style=\"text-align:right;\">state</th><th style=\"text-align:right;\">norm</th><th style=\"text-align:left;\">kind</th>");
    expect(html).toContain('<tr><th>2</th><td style="text-align:right;">2</td><td style="text-align:right;">3.6712</td><td style="text-align:left;">block</td></tr>');
    expect(b["text/plain"]).toBe(["Mean norm", "   state    norm  kind", "0      0  1.6600  emb", "1      1  2.9500  block", "2      2  3.6712  block"].join("\n"));
  }, 30_000);

  test("records and {columns, rows} work; HTML is escaped; long tables are cut", () => {
    const b = tableBundle([{ a: 1, b: "<x>" }, { a: 2 }]);
    expect(b["text/html"]).toContain("&lt;x&gt;");
    expect(b["text/plain"]).toBe("a  b\n1  <x>\n2");
    const many = tableBundle({ columns: ["i"], rows: Array.from({ length: 10 }, (_, i) => [i]) }, { maxRows: 3 });
    expect(many["text/plain"]).toBe("i\n0\n1\n2\n... 7 more rows (10 in all)");
  });

  test("bad input is rejected with a one-line error", () => {
    expect(() => tableBundle({ columns: ["a", "b"], rows: [[1]] })).toThrow("showTable: row 0 has 1 cells for 2 columns");
    expect(() => tableBundle(42 as never)).toThrow("showTable: expected a danfojs DataFrame, a list of row objects, or {columns, rows}");
    expect(() => tableBundle([1] as never)).toThrow("showTable: a list input must hold objects (one per row)");
  });

  test("outside a kernel showTable returns the bundle", () => {
    expect(showTable([{ a: 1 }])).toEqual(tableBundle([{ a: 1 }]));
  });
});
