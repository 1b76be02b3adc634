/**
 * The d x d float64 solves of bench/widths.ts timed alone: factorGram (equilibration, Cholesky,
 * the eigenvalue estimates, or the eigendecomposition), the explained sum (the score: one
 * triangular solve with d_y = d right-hand sides) and solveMap (the map: two), on the native
 * LAPACK / BLAS kernels and, where asked, on the JavaScript ones. Two Gram matrices per width:
 * "full rank" (the Cholesky path) and "tokens = d/2" (rank-deficient: the eigen path).
 */
import * as os from "os";
import { explainedSumSquares, factorGram, solveMap } from "../lib/numerics/solve";
import { nativeBlas } from "../lib/native";

const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" ");

/** Deterministic values in [-1, 1). */
function filled(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** A^T A [d, d] (+ k I when `ridge`) for A [k, d]: native dgemm when loaded, else loops. */
function gram(A: Float64Array, k: number, d: number, ridge: boolean): Float64Array {
  const C = new Float64Array(d * d);
  const blas = nativeBlas();
  if (blas) blas.gemm(true, false, d, d, k, 1, A, d, A, d, 0, C, d);
  else for (let r = 0; r < k; r++) for (let a = 0; a < d; a++) { const v = A[r * d + a]; for (let b = 0; b < d; b++) C[a * d + b] += v * A[r * d + b]; }
  if (ridge) for (let a = 0; a < d; a++) C[a * d + a] += k;
  return C;
}

const seconds = (t: number) => ((performance.now() - t) / 1000).toFixed(2);

/** One line per (width, matrix, kernel set). `jsWidths`: widths also timed on the JavaScript kernels. */
export function benchSolves(widths: number[], jsWidths: number[]): void {
  for (const d of widths) {
    for (const kind of ["full rank", "tokens = d/2"]) {
      const k = kind === "full rank" ? 64 : d / 2;
      const C = gram(filled(k * d, d), k, d, kind === "full rank");
      const Cxy = Float64Array.from(C, (v, q) => v + (q % 7));
      for (const native of [true, ...(jsWidths.includes(d) ? [false] : [])]) {
        let t = performance.now();
        const f = factorGram(C, d, { native });
        const tf = seconds(t);
        t = performance.now();
        explainedSumSquares(f, Cxy, d);
        const te = seconds(t);
        t = performance.now();
        solveMap(f, Cxy, d);
        const tm = seconds(t);
        console.log(
          `d x d solves, d_model ${String(d).padStart(4)}, ${kind.padEnd(12)} on ${f.ops.name.padEnd(10)} kernels: factorGram ${tf} s (${f.kind === "cholesky" ? "Cholesky" : "eigen"} path, rank ${f.rank}), ` +
            `explained ${te} s, solveMap ${tm} s (d_y = ${d}) | load ${load()}`,
        );
      }
    }
  }
}
