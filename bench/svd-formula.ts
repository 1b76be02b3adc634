/**
 * The original notebook's score through its SVD formula, in float64 TypeScript, as the baseline
 * the Gram route is timed against: A = V diag(1/S) U^T Yn, score = 1 - ||Xn A - Yn||_F^2.
 *
 * ml-matrix's SVD of the 22,986 x 768 matrix is impractical (2.6 s for 2,000 x 256 here, so many
 * minutes), so the thin SVD is taken the way LAPACK does for tall matrices (R-SVD): a Householder
 * QR of Xn, applied to Yn as well, then ml-matrix's SVD of the 768 x 768 R. Then U = Q U_R and
 * U^T Yn = U_R^T (Q^T Yn)[:d]; the rows of Q^T Yn below d are the part no map can fit.
 */
import { Matrix, SVD } from "ml-matrix";

export interface SvdFormulaTiming {
  score: number;
  qrSeconds: number;
  svdSeconds: number;
  totalSeconds: number;
  flops: number;
}

/** Centre and scale to unit Frobenius norm, column-major float64 copy of a row-major buffer. */
function normalizedColumns(v: Float32Array, n: number, d: number): Float64Array[] {
  const cols = Array.from({ length: d }, () => new Float64Array(n));
  let ss = 0;
  for (let c = 0; c < d; c++) {
    const col = cols[c];
    let m = 0;
    for (let t = 0; t < n; t++) m += v[t * d + c];
    m /= n;
    for (let t = 0; t < n; t++) {
      const e = v[t * d + c] - m;
      col[t] = e;
      ss += e * e;
    }
  }
  const inv = 1 / Math.sqrt(ss);
  for (const col of cols) for (let t = 0; t < n; t++) col[t] *= inv;
  return cols;
}

export function svdFormulaScore(x: Float32Array, y: Float32Array, n: number, d: number): SvdFormulaTiming {
  const t0 = performance.now();
  const cols = [...normalizedColumns(x, n, d), ...normalizedColumns(y, n, d)];
  const m = cols.length;
  // Householder QR on the first d columns, every reflector also applied to the Y columns.
  const diagR = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    const v = cols[k];
    let norm2 = 0;
    for (let t = k; t < n; t++) norm2 += v[t] * v[t];
    const x0 = v[k];
    const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    v[k] = x0 - alpha;
    const vnorm2 = norm2 - x0 * x0 + v[k] * v[k];
    diagR[k] = alpha;
    if (vnorm2 === 0) continue;
    for (let j = k + 1; j < m; j++) {
      const c = cols[j];
      let dot = 0;
      for (let t = k; t < n; t++) dot += v[t] * c[t];
      const f = (2 * dot) / vnorm2;
      for (let t = k; t < n; t++) c[t] -= f * v[t];
    }
  }
  const t1 = performance.now();
  const R = Matrix.zeros(d, d);
  for (let a = 0; a < d; a++) {
    R.set(a, a, diagR[a]);
    for (let b = a + 1; b < d; b++) R.set(a, b, cols[b][a]);
  }
  const top = Matrix.zeros(d, d); // (Q^T Yn)[:d]
  let bottom = 0;
  for (let j = 0; j < d; j++) {
    const c = cols[d + j];
    for (let a = 0; a < d; a++) top.set(a, j, c[a]);
    for (let t = d; t < n; t++) bottom += c[t] * c[t];
  }
  const svd = new SVD(R, { computeLeftSingularVectors: true, computeRightSingularVectors: true, autoTranspose: false });
  const S = svd.diagonal;
  const UtY = svd.leftSingularVectors.transpose().mmul(top);
  for (let a = 0; a < d; a++) for (let j = 0; j < d; j++) UtY.set(a, j, UtY.get(a, j) / S[a]);
  const A = svd.rightSingularVectors.mmul(UtY); // A = V diag(1/S) U^T Yn
  const fitTop = R.mmul(A).sub(top); // Xn A - Yn, in the Q basis: top rows ...
  const score = 1 - (fitTop.norm("frobenius") ** 2 + bottom); // ... plus the rows below d
  const t2 = performance.now();
  // Householder QR of Xn applied to Yn too, plus about 20 d^3 for the SVD of R and the products.
  const flops = 4 * n * (m * d - (d * d) / 2) + 20 * d ** 3;
  return { score, qrSeconds: (t1 - t0) / 1000, svdSeconds: (t2 - t1) / 1000, totalSeconds: (t2 - t0) / 1000, flops };
}
