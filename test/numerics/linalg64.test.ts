import { describe, expect, it } from "vitest";
import { pivotedCholesky } from "../../lib/numerics/linalg64";
import { factorGram, whiteningTransform } from "../../lib/numerics/solve";
import { gaussianMatrix } from "./reference";

function gram(cols: number[][]): Float64Array {
  const d = cols.length, G = new Float64Array(d * d);
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) G[a * d + b] = cols[a].reduce((s, v, i) => s + v * cols[b][i], 0);
  return G;
}

describe("pivoted Cholesky", () => {
  it("reconstructs the kept block and finds the rank", () => {
    const base = gaussianMatrix(4, 30, 1); // 4 independent columns of length 30
    const cols = [base[0], base[1], base[0].map((v, i) => v - 2 * base[1][i]), base[2], base[3]];
    const G = gram(cols);
    const f = pivotedCholesky(G, 5, 1e-9);
    expect(f.rank).toBe(4);
    for (let a = 0; a < f.rank; a++) for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let k = 0; k <= b; k++) s += f.rows[f.pivots[a] * 5 + k] * f.rows[f.pivots[b] * 5 + k];
      expect(Math.abs(s - G[f.pivots[a] * 5 + f.pivots[b]])).toBeLessThan(1e-10 * G[f.pivots[a] * 6]);
    }
  });

  it("equilibration makes the rank decision scale-free, and whitening gives unit Gram", () => {
    const cols = gaussianMatrix(3, 50, 2);
    const scaled = [cols[0].map((v) => v * 1e6), cols[1].map((v) => v * 1e-6), cols[2]];
    expect(factorGram(gram(scaled), 3, 1e-3).rank).toBe(3);
    const T = whiteningTransform(gram(scaled), 3, 1e-3);
    const w = [0, 1, 2].map((a) => scaled[0].map((_, i) => scaled.reduce((s, c, k) => s + c[i] * T[k * 3 + a], 0)));
    const W = gram(w);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expect(Math.abs(W[a * 3 + b] - (a === b ? 1 : 0))).toBeLessThan(1e-5);
  });
});
