/**
 * Independent float64 reference for the tensor tests: plain loops on number[][], no tfjs, no Gram
 * matrices, no Cholesky. Least squares through a one-sided Jacobi (Hestenes) SVD of the data
 * matrix itself, exactly the original notebook's formula A = V diag(1/S) U^T Y, with an optional
 * relative cut-off on singular values (pinv semantics).
 */
export type Mat = number[][];

export function fromFlat(v: ArrayLike<number>, n: number, d: number): Mat {
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => v[i * d + j]));
}

export function flat(m: Mat): Float32Array {
  return Float32Array.from(m.flat());
}

/** Round every entry through float32 (what a tfjs tensor would hold). */
export function asFloat32(m: Mat): Mat {
  return m.map((r) => r.map((v) => Math.fround(v)));
}

export function matmul(a: Mat, b: Mat): Mat {
  const n = a.length, k = b.length, m = b[0].length;
  const out: Mat = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) {
    const v = a[i][p];
    for (let j = 0; j < m; j++) out[i][j] += v * b[p][j];
  }
  return out;
}

export function sub(a: Mat, b: Mat): Mat {
  return a.map((r, i) => r.map((v, j) => v - b[i][j]));
}

export function frob2(a: Mat): number {
  let s = 0;
  for (const r of a) for (const v of r) s += v * v;
  return s;
}

/** The original's normalize: centre columns, divide by the Frobenius norm. */
export function refNormalize(x: Mat): Mat {
  const n = x.length, d = x[0].length;
  const mean = new Array<number>(d).fill(0);
  for (const r of x) r.forEach((v, j) => (mean[j] += v / n));
  const c = x.map((r) => r.map((v, j) => v - mean[j]));
  const f = Math.sqrt(frob2(c));
  return c.map((r) => r.map((v) => v / f));
}

/** Thin SVD X = U diag(S) V^T by one-sided Jacobi rotations on the columns of X [n, d]. */
export function refSvd(x: Mat): { U: Mat; S: number[]; V: Mat } {
  const n = x.length, d = x[0].length;
  const W = x.map((r) => r.slice());
  const V: Mat = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        let a = 0, b = 0, g = 0;
        for (let i = 0; i < n; i++) {
          a += W[i][p] * W[i][p];
          b += W[i][q] * W[i][q];
          g += W[i][p] * W[i][q];
        }
        if (g === 0 || Math.abs(g) <= 1e-15 * Math.sqrt(a * b)) continue;
        off = Math.max(off, Math.abs(g) / Math.sqrt(a * b));
        const zeta = (b - a) / (2 * g);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let i = 0; i < n; i++) {
          const wp = W[i][p], wq = W[i][q];
          W[i][p] = c * wp - s * wq;
          W[i][q] = s * wp + c * wq;
        }
        for (let i = 0; i < d; i++) {
          const vp = V[i][p], vq = V[i][q];
          V[i][p] = c * vp - s * vq;
          V[i][q] = s * vp + c * vq;
        }
      }
    }
    if (off < 1e-15) break;
  }
  const S = Array.from({ length: d }, (_, j) => Math.sqrt(W.reduce((s, r) => s + r[j] * r[j], 0)));
  const U = W.map((r) => r.map((v, j) => (S[j] > 0 ? v / S[j] : 0)));
  return { U, S, V };
}

/** pinv(X) Y through the SVD, dropping singular values below rcond * max (the original: rcond 0). */
export function refPinvSolve(x: Mat, y: Mat, rcond = 0): Mat {
  const { U, S, V } = refSvd(x);
  const smax = Math.max(...S);
  const d = x[0].length, m = y[0].length, n = x.length;
  // UtY [d, m], scaled by 1/S on kept singular values.
  const UtY: Mat = Array.from({ length: d }, () => new Array<number>(m).fill(0));
  for (let j = 0; j < d; j++) {
    if (!(S[j] > rcond * smax) || S[j] === 0) continue;
    for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) UtY[j][c] += U[i][j] * y[i][c];
    for (let c = 0; c < m; c++) UtY[j][c] /= S[j];
  }
  return matmul(V, UtY);
}

/** The original compute_linearity_score: 1 - ||normalize(x) A - normalize(y)||^2. */
export function refScore(x: Mat, y: Mat, rcond = 0): number {
  const xn = refNormalize(x), yn = refNormalize(y);
  const A = refPinvSolve(xn, yn, rcond);
  return 1 - frob2(sub(matmul(xn, A), yn));
}

/** Per-token linearity on normalized data, x_i A orientation; `relative` divides by ||y_i||^2. */
export function refTokenLinearity(x: Mat, y: Mat, relative: boolean, rcond = 0): number[] {
  const xn = refNormalize(x), yn = refNormalize(y);
  const A = refPinvSolve(xn, yn, rcond);
  const fit = matmul(xn, A);
  return fit.map((r, i) => {
    let e = 0, nrm = 0;
    r.forEach((v, j) => {
      e += (v - yn[i][j]) ** 2;
      nrm += yn[i][j] ** 2;
    });
    return relative ? 1 - e / nrm : 1 - e;
  });
}

/** Deterministic normal samples for test data (independent of lib's generator). */
export function gaussianMatrix(n: number, d: number, seed: number): Mat {
  let s = seed >>> 0 || 1;
  const u = () => {
    // xorshift32
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return Array.from({ length: n }, () =>
    Array.from({ length: d }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())),
  );
}
