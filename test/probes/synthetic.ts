/** Synthetic data for probe tests: y = x W + b + noise, from a seeded generator. */
import { mulberry32 } from "../../lib/probes/random";

export interface Synthetic {
  x: Float32Array; // [n, dIn]
  y: Float32Array; // [n, dOut]
  w: number[][]; // [dIn][dOut]
  b: number[]; // [dOut]
}

/** Rows x ~ U(-1, 1)^dIn, W, b ~ U(-1, 1), noise ~ N(0, sigma^2) (Box-Muller). */
export function linearData(n: number, dIn: number, dOut: number, sigma: number, seed: number): Synthetic {
  const r = mulberry32(seed);
  const u = () => 2 * r() - 1;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const w = Array.from({ length: dIn }, () => Array.from({ length: dOut }, u));
  const b = Array.from({ length: dOut }, u);
  const x = new Float32Array(n * dIn);
  const y = new Float32Array(n * dOut);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dIn; k++) x[i * dIn + k] = u();
    for (let j = 0; j < dOut; j++) {
      let s = b[j];
      for (let k = 0; k < dIn; k++) s += x[i * dIn + k] * w[k][j];
      y[i * dOut + j] = s + sigma * gauss();
    }
  }
  return { x, y, w, b };
}

/**
 * Closed-form least squares with intercept in float64 (normal equations, Gauss-Jordan with
 * partial pivoting), returning 1 - SSE / SST on the same rows: the best any affine probe can do.
 */
export function leastSquaresR2(x: Float32Array, y: Float32Array, n: number, dIn: number, dOut: number): number {
  const p = dIn + 1;
  // Augmented system [X1^T X1 | X1^T Y] with X1 = [x, 1].
  const a = Array.from({ length: p }, () => new Float64Array(p + dOut));
  for (let i = 0; i < n; i++) {
    const row = [...Array.from(x.subarray(i * dIn, (i + 1) * dIn)), 1];
    for (let r = 0; r < p; r++) {
      for (let c = 0; c < p; c++) a[r][c] += row[r] * row[c];
      for (let j = 0; j < dOut; j++) a[r][p + j] += row[r] * y[i * dOut + j];
    }
  }
  for (let col = 0; col < p; col++) {
    let piv = col;
    for (let r = col + 1; r < p; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    [a[col], a[piv]] = [a[piv], a[col]];
    for (let r = 0; r < p; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let c = col; c < p + dOut; c++) a[r][c] -= f * a[col][c];
    }
  }
  const beta = (r: number, j: number) => a[r][p + j] / a[r][r];
  const mean = new Float64Array(dOut);
  for (let i = 0; i < n; i++) for (let j = 0; j < dOut; j++) mean[j] += y[i * dOut + j] / n;
  let sse = 0, sst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dOut; j++) {
      let pred = beta(dIn, j);
      for (let k = 0; k < dIn; k++) pred += x[i * dIn + k] * beta(k, j);
      const t = y[i * dOut + j];
      sse += (t - pred) ** 2;
      sst += (t - mean[j]) ** 2;
    }
  }
  return 1 - sse / sst;
}
