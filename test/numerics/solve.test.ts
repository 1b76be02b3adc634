import { describe, expect, it } from "vitest";
import { addProduct64 } from "../../lib/numerics/products-float64";
import { explainedSumSquares, factorGram } from "../../lib/numerics/solve";
import { gaussianMatrix } from "./reference";

function gram(cols: number[][]): Float64Array {
  const d = cols.length, G = new Float64Array(d * d);
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) G[a * d + b] = cols[a].reduce((s, v, i) => s + v * cols[b][i], 0);
  return G;
}

describe("factorGram paths", () => {
  it("equilibration makes the rank decision scale-free; the eigen path and the Cholesky path agree", () => {
    const cols = gaussianMatrix(3, 50, 2);
    const scaled = [cols[0].map((v) => v * 1e6), cols[1].map((v) => v * 1e-6), cols[2]];
    const G = gram(scaled);
    const chol = factorGram(G, 3, { rcond: 1e-3 });
    expect(chol.rank).toBe(3);
    expect(chol.kind).toBe("cholesky"); // the fast path: blocked Cholesky, no eigendecomposition
    // A fourth column almost equal to the third forces the eigendecomposition (cut binding).
    const four = [...scaled, cols[2].map((v, i) => v + 1e-9 * cols[0][i])];
    const f4 = factorGram(gram(four), 4, { rcond: 1e-3 });
    expect(f4.kind).toBe("eigen");
    expect(f4.rank).toBe(3);
    // Same explained sum of squares for a target in the span, by both paths.
    const y = scaled[0].map((v, i) => v * 1e-6 + 2 * scaled[2][i]);
    const cxy = (cs: number[][]) => Float64Array.from(cs, (c) => c.reduce((s, v, i) => s + v * y[i], 0));
    const yy = y.reduce((s, v) => s + v * v, 0);
    expect(Math.abs(explainedSumSquares(chol, cxy(scaled), 1) / yy - 1)).toBeLessThan(1e-12);
    expect(Math.abs(explainedSumSquares(f4, cxy(four), 1) / yy - 1)).toBeLessThan(1e-12);
  });
});

describe("addProduct64", () => {
  it("matches a plain triple loop, symmetric and not, odd sizes", () => {
    const r = 9, da = 7, db = 5;
    const A = Float64Array.from(gaussianMatrix(r, da, 3).flat()), B = Float64Array.from(gaussianMatrix(r, db, 4).flat());
    for (const [X, dx, Y, dy, sym] of [[A, da, B, db, false], [A, da, A, da, true]] as const) {
      const acc = new Float64Array(dx * dy);
      addProduct64(X, dx, Y, dy, r, acc, sym);
      for (let p = 0; p < dx; p++) for (let q = 0; q < dy; q++) {
        let s = 0;
        for (let t = 0; t < r; t++) s += X[t * dx + p] * Y[t * dy + q];
        expect(Math.abs(acc[p * dy + q] - s)).toBeLessThan(1e-12);
      }
    }
  });
});

describe("blocked Cholesky and forward substitution", () => {
  it("reconstruct A = L L^T and solve L Z = B across several panels and ragged tiles", async () => {
    const { choleskyInPlace, forwardSubstituteBlocked } = await import("../../lib/numerics/cholesky-blocked");
    for (const m of [1, 5, 67, 130]) {
      const g = gaussianMatrix(m + 3, m, m);
      const A = new Float64Array(m * m);
      for (const r of g) for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) A[a * m + b] += r[a] * r[b];
      const L = Float64Array.from(A);
      expect(choleskyInPlace(L, m, 0, 16)).toBe(true);
      for (let a = 0; a < m; a++) for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let p = 0; p <= b; p++) s += L[a * m + p] * L[b * m + p];
        expect(Math.abs(s - A[a * m + b])).toBeLessThan(1e-10 * A[a * m + a]);
      }
      const B = Float64Array.from(gaussianMatrix(m, 3, m + 1).flat()), Z = Float64Array.from(B);
      forwardSubstituteBlocked(L, m, Z, 3);
      for (let a = 0; a < m; a++) for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let p = 0; p <= a; p++) s += L[a * m + p] * Z[p * 3 + c];
        expect(Math.abs(s - B[a * 3 + c])).toBeLessThan(1e-9);
      }
    }
    // A singular matrix stops the factorization.
    const S = Float64Array.from([1, 1, 1, 1]);
    expect(choleskyInPlace(S, 2, 1e-12)).toBe(false);
  });
});
