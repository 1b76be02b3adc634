/**
 * GramAccumulator's named states on each product route (native BLAS, JavaScript float64, tfjs
 * float32) against centred sums computed here in float64 straight from the rows: the products,
 * a derived difference, the means and sums of squares, and the errors of a bad address.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { nativeBlas } from "../../lib/native";
import { GramAccumulator } from "../../lib/numerics/gram-accumulator";
import { asFloat32, flat, gaussianMatrix, type Mat } from "./reference";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Centred sum (a - mean a)^T (b - mean b), [d_a, d_b] row-major, float64 from the rows. */
function centredRef(a: Mat, b: Mat): number[] {
  const n = a.length;
  const mean = (m: Mat) => m[0].map((_, j) => m.reduce((s, r) => s + r[j], 0) / n);
  const ma = mean(a), mb = mean(b);
  const out: number[] = [];
  for (let p = 0; p < a[0].length; p++) {
    for (let q = 0; q < b[0].length; q++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += (a[t][p] - ma[p]) * (b[t][q] - mb[q]);
      out.push(s);
    }
  }
  return out;
}

/** Largest |got - want| over the largest |want|. */
function relErr(got: ArrayLike<number>, want: number[]): number {
  let e = 0, m = 0;
  want.forEach((w, k) => {
    e = Math.max(e, Math.abs(got[k] - w));
    m = Math.max(m, Math.abs(w));
  });
  return e / m;
}

const n = 900, d = 5;
// Means far from 0 (the shift's work), columns of different scales.
const x = asFloat32(gaussianMatrix(n, d, 11).map((r) => r.map((v, j) => 300 + v * (1 + 3 * j))));
const y = asFloat32(gaussianMatrix(n, d, 12).map((r, t) => r.map((v, j) => 0.5 * x[t][j] + 0.1 * v - 40)));
const diff = y.map((r, t) => r.map((v, j) => v - x[t][j]));

type Key = "x" | "y" | "diff";

function accumulate(route: "auto" | "float32" | "float64", native: boolean): GramAccumulator<Key> {
  const acc = new GramAccumulator<Key>({
    fn: "test",
    states: [
      { key: "x", dim: d, route },
      { key: "y", name: "the target", dim: d },
    ],
    differences: [{ key: "diff", from: "x", to: "y" }],
    products: [["x", "x"], ["x", "y"], ["x", "diff"]],
    blockRows: 64,
    native,
  });
  // Uneven chunks: some rows wait for the shift, then several blocks per chunk.
  for (const [a, b] of [[0, 5], [5, 300], [300, 301], [301, n]]) acc.add([flat(x.slice(a, b)), flat(y.slice(a, b))]);
  return acc;
}

const routes: { label: string; route: "auto" | "float32" | "float64"; native: boolean; tol: number; took: string }[] = [
  { label: "JavaScript float64", route: "float64", native: false, tol: 1e-12, took: "float64" },
  { label: "tfjs float32", route: "float32", native: false, tol: 1e-5, took: "float32" },
];
if (nativeBlas()) routes.push({ label: "native BLAS", route: "auto", native: true, tol: 1e-12, took: "float64" });

describe("GramAccumulator", () => {
  it.each(routes)("$label: centred products, a difference state, means and sums of squares", ({ route, native, tol, took }) => {
    const acc = accumulate(route, native);
    expect(acc.rows).toBe(n);
    expect(acc.native).toBe(native);
    expect(acc.route("x")).toBe(took);
    expect(relErr(acc.centered("x", "x"), centredRef(x, x))).toBeLessThan(tol);
    expect(relErr(acc.centered("x", "y"), centredRef(x, y))).toBeLessThan(tol);
    expect(relErr(acc.centered("x", "diff"), centredRef(x, diff))).toBeLessThan(tol);
    // Sums of squares and means come from float64 sums on every route.
    for (const [k, m] of [["x", x], ["y", y], ["diff", diff]] as [Key, Mat][]) {
      const ref = centredRef(m, m);
      const trace = ref.filter((_, i) => i % (d + 1) === 0).reduce((s, v) => s + v, 0);
      expect(Math.abs(acc.centeredSumSquares(k) - trace) / trace).toBeLessThan(1e-12);
      const mean = m[0].map((_, j) => m.reduce((s, r) => s + r[j], 0) / n);
      expect(relErr(acc.mean(k), mean)).toBeLessThan(1e-13);
    }
    // The un-centred product rebuilt from the shift.
    const raw: number[] = [];
    for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) raw.push(x.reduce((s, r, t) => s + r[p] * y[t][q], 0));
    expect(relErr(acc.uncentered("x", "y"), raw)).toBeLessThan(tol);
  });

  it("the routes agree with each other on the same rows", () => {
    const a = accumulate("float64", false).centered("x", "diff");
    const b = accumulate("float32", false).centered("x", "diff");
    expect(relErr(b, Array.from(a))).toBeLessThan(1e-5);
    expect(relErr(b, Array.from(a))).toBeGreaterThan(0); // float32 sums do round
  });

  it("addresses states by key and names them in errors", () => {
    const acc = accumulate("float64", false);
    expect(acc.nameOf("y")).toBe("the target");
    expect(() => acc.centered("y", "x")).toThrow("test: product ('the target', 'x') was not accumulated");
    expect(() => acc.mean("z" as Key)).toThrow("test: no state 'z'");
    expect(() => new GramAccumulator({ fn: "t", states: [{ key: "x", dim: 2 }, { key: "x", dim: 2 }], products: [] })).toThrow("t: state 'x' is listed twice");
    expect(() => new GramAccumulator({ fn: "t", states: [{ key: "x", dim: 2 }], products: [["x", "y"]] })).toThrow("t: product ('x', 'y') names 'y', which is not a state");
    expect(() => new GramAccumulator({ fn: "t", states: [{ key: "x", dim: 2 }], differences: [{ key: "d", from: "x", to: "x" }], products: [["d", "x"]] })).toThrow(
      "t: the left operand of product ('d', 'x') names 'd', which is not a given state",
    );
    expect(() => new GramAccumulator({ fn: "t", states: [{ key: "x", dim: 2 }], differences: [{ key: "d", from: "x", to: "q" }], products: [] })).toThrow(
      "t: difference 'd' names 'q', which is not a given state",
    );
    const bad = new GramAccumulator({ fn: "t", states: [{ key: "x", name: "left", dim: 2 }], products: [["x", "x"]], native: false });
    expect(() => bad.add([Float32Array.from([1, 2, 3, NaN])])).not.toThrow(); // buffered: the shift waits for a block
    expect(() => bad.centered("x", "x")).toThrow("t: 'left' has NaN at row 1, column 1");
  });
});
