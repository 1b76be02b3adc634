/**
 * The optional LAPACK / level-2-3 calls of the native binding (NativeBlas.lapack) called directly,
 * against float64 loops written here, and their argument checks. Skipped, with a notice, where no
 * native BLAS is loaded (test/numerics/solve-native.test.ts covers the kernels solve.ts uses).
 */
import { describe, expect, test } from "vitest";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";

const blas = nativeBlas();
if (!blas) console.warn(`test/native/lapack.test.ts: SKIPPED, ${nativeBlasStatus()}`);

/** Symmetric positive definite [n, n] with stride ld (padding NaN): M M^T / n + I, M from an LCG. */
function spd(n: number, ld: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1);
  const M = Array.from({ length: n * n }, r), A = new Float64Array(n * ld).fill(NaN);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let v = i === j ? 1 : 0;
    for (let k = 0; k < n; k++) v += (M[i * n + k] * M[j * n + k]) / n;
    A[i * ld + j] = v;
  }
  return A;
}

describe.skipIf(!blas)("native LAPACK calls (native/blas.c) against float64 loops", () => {
  const lap = blas?.lapack ?? {};
  const n = 29, ld = 31;

  test("every optional call is present in OpenBLAS", () => {
    expect(Object.keys(lap).sort()).toEqual(["applyQtColMajor", "eigh", "eighInPlace", "potrfLower", "qrColMajor", "svdSquare", "trmvLower", "trsmLower", "trsvLower"]);
  });

  test("potrfLower with a padded stride: L L^T = A, padding untouched; info > 0 for an indefinite matrix", () => {
    const A = spd(n, ld, 1), L = A.slice();
    expect(lap.potrfLower!(n, L, ld)).toBe(0);
    let worst = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let v = 0;
      for (let k = 0; k <= j; k++) v += L[i * ld + k] * L[j * ld + k];
      worst = Math.max(worst, Math.abs(v - A[i * ld + j]));
    }
    expect(worst).toBeLessThan(1e-13);
    for (let i = 0; i < n; i++) for (let j = n; j < ld; j++) expect(Number.isNaN(L[i * ld + j])).toBe(true);
    expect(lap.potrfLower!(2, Float64Array.from([1, 0, 3, 1]), 2)).toBe(2);
  });

  test("trsmLower, trsvLower and trmvLower invert each other's products", () => {
    const L = spd(n, ld, 2);
    expect(lap.potrfLower!(n, L, ld)).toBe(0);
    const at = (i: number, k: number, t: boolean) => (t ? (i <= k ? L[k * ld + i] : 0) : k <= i ? L[i * ld + k] : 0);
    for (const t of [false, true]) {
      const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
      const want = Float64Array.from({ length: n }, (_, i) => { let v = 0; for (let k = 0; k < n; k++) v += at(i, k, t) * x[k]; return v; });
      const y = x.slice();
      lap.trmvLower!(t, n, L, ld, y);
      for (let i = 0; i < n; i++) expect(Math.abs(y[i] - want[i])).toBeLessThan(1e-13);
      lap.trsvLower!(t, n, L, ld, y);
      for (let i = 0; i < n; i++) expect(Math.abs(y[i] - x[i])).toBeLessThan(1e-12);
      const B = new Float64Array(n * 3);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) B[i * 3 + c] = (c + 1) * want[i];
      lap.trsmLower!(t, n, 3, L, ld, B, 3);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) expect(Math.abs(B[i * 3 + c] - (c + 1) * x[i])).toBeLessThan(1e-12);
    }
  });

  test("eigh (dsyevr) and eighInPlace (dsyevd): A v = lambda v, ascending, the same eigenvalues", () => {
    const A = spd(n, n, 3), w1 = new Float64Array(n), w2 = new Float64Array(n), Z = new Float64Array(n * n), V = A.slice();
    expect(lap.eigh!(n, A.slice(), n, w1, Z, n)).toBe(0);
    expect(lap.eighInPlace!(n, V, n, w2)).toBe(0);
    for (const [w, vecs] of [[w1, Z], [w2, V]] as const) {
      for (let k = 0; k < n; k++) {
        if (k > 0) expect(w[k]).toBeGreaterThanOrEqual(w[k - 1]);
        for (let i = 0; i < n; i++) {
          let v = 0;
          for (let j = 0; j < n; j++) v += A[i * n + j] * vecs[k * n + j];
          expect(Math.abs(v - w[k] * vecs[k * n + i])).toBeLessThan(1e-12);
        }
      }
    }
    for (let k = 0; k < n; k++) expect(Math.abs(w1[k] - w2[k])).toBeLessThan(1e-12);
  });

  test("arguments too small for their sizes are one-line errors, nothing written", () => {
    const A = new Float64Array(8);
    expect(() => lap.potrfLower!(3, A, 3)).toThrow(/potrfLower A must be a Float64Array of at least/);
    expect(() => lap.trsmLower!(false, 2, 3, A, 2, A, 2)).toThrow(/ldb >= N/);
    expect(() => lap.trsvLower!(false, 3, A, 3, new Float64Array(3))).toThrow(/trsvLower needs L of at least/);
    expect(() => lap.eigh!(2, A, 2, new Float64Array(1), A, 2)).toThrow(/eigh w must be/);
    expect(() => lap.eighInPlace!(2, new Float32Array(4) as unknown as Float64Array, 2, new Float64Array(2))).toThrow(/eighInPlace A must be a Float64Array/);
    expect(Array.from(A)).toEqual(new Array(8).fill(0));
  });
});
