/**
 * products.ts's read-side helpers: `fullProduct` copies a product sum and, for a self-product
 * summed as its upper triangle (dsyrk), mirrors it tile by tile (`mirrorUpper`). Checked against
 * the element-by-element mirror at sizes below, at and across the 64-wide tiles.
 */
import { describe, expect, it } from "vitest";
import { fullProduct, mirrorUpper } from "../../lib/numerics/products";

/** The plain mirror: lower (q > p) := upper, row by row. */
function naiveMirror(a: Float64Array, n: number): Float64Array {
  const out = a.slice();
  for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) out[q * n + p] = out[p * n + q];
  return out;
}

describe("mirrorUpper and fullProduct", () => {
  it.each([1, 2, 5, 63, 64, 65, 130, 200])("n = %i: the tiled mirror equals the plain one, element for element", (n) => {
    const a = Float64Array.from({ length: n * n }, (_, k) => Math.sin(k + 1) * 1e3);
    const want = naiveMirror(a, n);
    const b = a.slice();
    mirrorUpper(b, n);
    expect(Array.from(b)).toEqual(Array.from(want));
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) expect(b[p * n + q]).toBe(b[q * n + p]);
  });

  it("fullProduct returns a fresh copy; mirrors only a self-product summed as its upper triangle", () => {
    const n = 70, a = Float64Array.from({ length: n * n }, (_, k) => k);
    const m = fullProduct(a, n, true, true);
    expect(m).not.toBe(a);
    expect(Array.from(m)).toEqual(Array.from(naiveMirror(a, n)));
    expect(Array.from(a)).toEqual(Array.from({ length: n * n }, (_, k) => k)); // the sum is untouched
    expect(Array.from(fullProduct(a, n, true, false))).toEqual(Array.from(a));
    expect(Array.from(fullProduct(a, n, false, true))).toEqual(Array.from(a));
  });
});
