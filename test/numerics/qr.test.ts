/**
 * The QR route (lib/numerics/qr.ts, svd-small.ts, qr-fit.ts): the JavaScript Householder
 * reflections against LAPACK's dgeqrf / dormqr, the Jacobi SVD against dgesvd, QrFit's scores on
 * both kernels against the independent float64 reference (test/numerics/reference64.ts), and the
 * rescore running exactly when the Gram's float64 floor decided a cut.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { wholeTensorScores } from "../../lib/metrics/linearity";
import { LinearityAccumulator } from "../../lib/metrics/linearity-accumulator";
import { nativeBlas } from "../../lib/native";
import { StreamingQr, nativeQr } from "../../lib/numerics/qr";
import { QrFit } from "../../lib/numerics/qr-fit";
import { jacobiSvd, svdSquare } from "../../lib/numerics/svd-small";
import { gaussianMatrix } from "./reference";
import { difference, lsqReference } from "./reference64";

const hasNative = nativeQr() !== undefined;
if (!hasNative) console.warn(`test/numerics/qr.test.ts: native QR comparisons SKIPPED (${nativeBlas() ? "the library lacks dgeqrf/dormqr/dgesvd" : "no native BLAS"})`);

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** X [n, d] with singular values geometric over `spread` (random rotation), Y [n, dy] from the smallest directions plus noise; float32-rounded. */
function spreadPair(n: number, d: number, spread: number, seed: number): { x: Float64Array; y: Float64Array } {
  const z = gaussianMatrix(n, d, seed), g = gaussianMatrix(d, d, seed + 1), e = gaussianMatrix(n, d, seed + 2);
  // Orthonormal rotation by Gram-Schmidt.
  const q: number[][] = [];
  for (const row of g) {
    const w = row.slice();
    for (const u of q) {
      const p = u.reduce((s, v, i) => s + v * w[i], 0);
      for (let i = 0; i < d; i++) w[i] -= p * u[i];
    }
    const nrm = Math.hypot(...w);
    q.push(w.map((v) => v / nrm));
  }
  const x = new Float64Array(n * d), y = new Float64Array(n * d);
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += z[t][k] * Math.pow(spread, -k / (d - 1)) * q[k][c];
      x[t * d + c] = Math.fround(s);
      y[t * d + c] = Math.fround(z[t][d - 1 - (c % 4)] + 0.3 * e[t][c]);
    }
  }
  return { x, y };
}

function colMajor(v: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let t = 0; t < n; t++) for (let c = 0; c < d; c++) out[c * n + t] = v[t * d + c];
  return out;
}

describe("StreamingQr and the small SVD", () => {
  it.skipIf(!hasNative)("JavaScript reflections equal LAPACK dgeqrf / dormqr (R, Q^T Y, trailing sum) over several blocks", () => {
    const n = 700, p = 12, q = 5;
    const X = Float64Array.from(gaussianMatrix(n, p, 3).flat()), Y = Float64Array.from(gaussianMatrix(n, q, 4).flat());
    const [js, nat] = [false, true].map((native) => {
      const s = new StreamingQr(p, q, native);
      for (const [a, b] of [[0, 300], [300, 301], [301, 700]]) s.add(colMajor(X.subarray(a * p, b * p), b - a, p), colMajor(Y.subarray(a * q, b * q), b - a, q), b - a);
      return s;
    });
    expect(js.kernels).toBe("javascript");
    expect(nat.kernels).toBe("native");
    const big = Math.max(...Array.from(nat.R, Math.abs));
    for (let k = 0; k < p * p; k++) expect(Math.abs(js.R[k] - nat.R[k])).toBeLessThan(1e-12 * big);
    for (let k = 0; k < p * q; k++) expect(Math.abs(js.Z[k] - nat.Z[k])).toBeLessThan(1e-12 * big);
    expect(Math.abs(js.trailing - nat.trailing) / nat.trailing).toBeLessThan(1e-12);
    // R^T R = X^T X, and ||Z||^2 + trailing = ||Y||^2.
    let zz = 0, yy = 0;
    for (const v of nat.Z) zz += v * v;
    for (const v of Y) yy += v * v;
    expect(Math.abs(zz + nat.trailing - yy) / yy).toBeLessThan(1e-13);
    let g01 = 0;
    for (let t = 0; t < n; t++) g01 += X[t * p] * X[t * p + 1];
    expect(Math.abs(nat.R[p] * nat.R[0] - g01) / Math.abs(nat.R[0] * nat.R[0])).toBeLessThan(1e-13); // (R^T R)_01 = r_00 r_01
  });

  it("the Jacobi SVD reconstructs R and, where LAPACK loaded, equals dgesvd's singular values", () => {
    const n = 30;
    const R = new Float64Array(n * n);
    const g = gaussianMatrix(n, n, 8);
    for (let c = 0; c < n; c++) for (let r = 0; r <= c; r++) R[c * n + r] = g[r][c] * Math.pow(1e-9, c / (n - 1));
    const j = jacobiSvd(R, n);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += j.U[k * n + a] * j.s[k] * j.V[k * n + b];
        expect(Math.abs(v - R[b * n + a])).toBeLessThan(1e-14 * j.s[0]);
      }
    }
    if (!hasNative) return;
    const l = svdSquare(R, n, true);
    for (let k = 0; k < n; k++) expect(Math.abs(l.s[k] - j.s[k])).toBeLessThan(1e-14 * j.s[0]);
  });
});

describe("QrFit against the float64 reference", () => {
  const n = 2500, d = 64;
  const { x, y } = spreadPair(n, d, 1e8, 21);
  const truth = lsqReference(x, y, n, d, d, 1e-13), truthRes = lsqReference(x, difference(y, x), n, d, d, 1e-13);
  for (const native of hasNative ? [true, false] : [false]) {
    it(`spread 1e8 (singular values below the Gram's floor), ${native ? "native LAPACK" : "JavaScript"}: every direction kept, scores within 1e-9`, () => {
      const acc = new LinearityAccumulator(d, d, { residual: true, native });
      acc.add(Float32Array.from(x), Float32Array.from(y));
      const f = acc.factor();
      console.log(`Gram: rank ${f.rank}/${truth.rank}, cut ${JSON.stringify(f.cut)}`);
      expect(f.cut.gramFloorCut).toBeGreaterThan(0); // the Gram alone cuts real directions
      const fit = new QrFit(d, d, { meanX: acc.mean(0), meanY: acc.mean(1), scale: f.scale, cols: f.cols, storage: "float32", residual: true, native });
      for (let r0 = 0; r0 < n; r0 += 1000) {
        const r1 = Math.min(n, r0 + 1000);
        fit.add(Float32Array.from(x.subarray(r0 * d, r1 * d)), Float32Array.from(y.subarray(r0 * d, r1 * d)));
      }
      const r = fit.result();
      expect(r.kernels).toBe(native ? "native" : "javascript");
      expect(r.rank).toBe(truth.rank);
      expect(r.cut.route).toBe("qr");
      expect(Math.abs(r.score - truth.score)).toBeLessThan(1e-9);
      expect(Math.abs(r.residualScore! - truthRes.score)).toBeLessThan(1e-9);
      for (let k = 0; k < d; k++) expect(Math.abs(r.singularValues[k] - truth.singularValues[k])).toBeLessThan(1e-13);
    });
  }
});

describe("the QR rescore runs only when the Gram's floor decided a cut", () => {
  const score = (x: Float64Array, y: Float64Array, n: number, d: number, storage?: "float16") => {
    const xt = tf.tensor2d(Float32Array.from(x), [n, d]), yt = tf.tensor2d(Float32Array.from(y), [n, d]);
    const acc = new LinearityAccumulator(d, d, { storage });
    acc.add(Float32Array.from(x), Float32Array.from(y));
    const gram = acc.result(), whole = wholeTensorScores("t", xt, yt, false, { storage });
    xt.dispose();
    yt.dispose();
    return { gram, whole };
  };

  it("well-conditioned X: the Gram decides (Cholesky path), no QR", () => {
    const { x, y } = spreadPair(800, 16, 10, 31);
    const { gram, whole } = score(x, y, 800, 16);
    expect(gram.cut.gramFloorCut).toBe(0);
    expect(whole.cut.route).toBe("gram");
    expect(whole.score).toBe(gram.score);
  });

  it("repeated rows stored float16: the storage threshold is far above the floor, no QR; declared float32: the floor decides, QR", () => {
    const n = 600, d = 16, table = gaussianMatrix(9, d, 41).map((r) => r.map((v) => Math.fround(v)));
    const x = Float64Array.from({ length: n * d }, (_, k) => table[Math.floor(k / d) % 9][k % d]);
    const y = Float64Array.from(gaussianMatrix(n, d, 42).flat(), (v, k) => Math.fround(v + x[k]));
    const f16 = score(x, y, n, d, "float16");
    expect(f16.gram.rank).toBe(8);
    expect(f16.gram.cut.gramFloorCut).toBe(0);
    expect(f16.whole.cut.route).toBe("gram");
    const f32 = score(x, y, n, d);
    expect(f32.gram.cut.gramFloorCut).toBeGreaterThan(0);
    expect(f32.whole.cut.route).toBe("qr");
    expect(f32.whole.rank).toBe(8);
    expect(Math.abs(f32.whole.score - f32.gram.score)).toBeLessThan(1e-9);
  });

  it("an explicit rcond stays on the Gram", () => {
    const { x, y } = spreadPair(2500, 64, 1e8, 21);
    const xt = tf.tensor2d(Float32Array.from(x), [2500, 64]), yt = tf.tensor2d(Float32Array.from(y), [2500, 64]);
    expect(wholeTensorScores("t", xt, yt, false, { rcond: 1e-5 }).cut.route).toBe("gram");
    xt.dispose();
    yt.dispose();
  });
});
