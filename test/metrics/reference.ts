/**
 * Independent float64 references for the metrics tests: plain loops on number[][], no tfjs, no
 * candidates, no streaming.
 */
export type Mat = number[][];

/** Rows of a flat row-major buffer as float64 arrays. */
export function rowsOf(v: ArrayLike<number>, d: number): Mat {
  const out: Mat = [];
  for (let i = 0; i < v.length / d; i++) out.push(Array.from({ length: d }, (_, j) => v[i * d + j]));
  return out;
}

/**
 * TwoNN by brute force: every pairwise distance in float64, mu = r2/r1 (rows with r1 = 0
 * dropped), sorted, F = i/N, least squares through the origin on the first floor(keep N).
 */
export function refTwoNN(points: Mat, keep: number): { dimension: number; dropped: number } {
  const mus: number[] = [];
  for (let i = 0; i < points.length; i++) {
    const dists: number[] = [];
    for (let j = 0; j < points.length; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < points[i].length; c++) s += (points[i][c] - points[j][c]) ** 2;
      dists.push(Math.sqrt(s));
    }
    dists.sort((a, b) => a - b);
    if (dists[0] === 0) continue;
    mus.push(dists[1] / dists[0]);
  }
  mus.sort((a, b) => a - b);
  const n = mus.length;
  const m = Math.floor(keep * n);
  const xs = mus.slice(0, m).map(Math.log);
  const ys = xs.map((_, i) => -Math.log(1 - i / n));
  const num = xs.reduce((s, x, i) => s + x * ys[i], 0);
  const den = xs.reduce((s, x) => s + x * x, 0);
  return { dimension: num / den, dropped: points.length - n };
}

/**
 * LLM-Microscope's `intrinsic_dimension` (llm_microscope functions.py), step by step as written
 * there, by brute force in float64: centre the rows, divide by their mean length, every pairwise
 * distance; r1 < 1e-8 is a duplicate (mu = -1); sort mu; the u values <= 1 + 1e-8 are dropped;
 * F = (1 + u .. N + u) / (N + u); fit the first min(N // reduction, N - 1) through the origin.
 * reduction = 5 is LLM-Microscope's default (keep 0.2).
 */
export function refTwoNNMicroscope(points: Mat, reduction = 5): { dimension: number; dropped: number; fitted: number } {
  const eps = 1e-8;
  const d = points[0].length;
  const mean = Array.from({ length: d }, (_, c) => points.reduce((s, p) => s + p[c], 0) / points.length);
  const centred = points.map((p) => p.map((v, c) => v - mean[c]));
  const avgLen = centred.reduce((s, p) => s + Math.sqrt(p.reduce((t, v) => t + v * v, 0)), 0) / centred.length;
  const e = centred.map((p) => p.map((v) => v / avgLen));
  const mu = e.map((p, i) => {
    const ds = e.flatMap((q, j) => (j === i ? [] : [Math.sqrt(q.reduce((t, v, c) => t + (v - p[c]) ** 2, 0))])).sort((a, b) => a - b);
    return ds[0] < eps ? -1 : ds[1] / ds[0];
  });
  mu.sort((a, b) => a - b);
  const useless = mu.filter((m) => m <= 1 + eps).length;
  const kept = mu.slice(useless);
  const n = kept.length;
  const use = Math.min(Math.floor(n / reduction), n - 1);
  let num = 0, den = 0;
  for (let i = 0; i < use; i++) {
    const x = Math.log(kept[i]);
    num += x * -Math.log(1 - (1 + useless + i) / (n + useless));
    den += x * x;
  }
  return { dimension: num / den, dropped: useless, fitted: Math.max(use, 0) };
}

/** A seeded uniform generator in [0, 1) (xorshift32, unrelated to the library's mulberry32). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** A random orthonormal [d, d] matrix (Gram-Schmidt on uniform entries). */
export function randomOrthogonal(d: number, rand: () => number): Mat {
  const q: Mat = [];
  while (q.length < d) {
    let v = Array.from({ length: d }, () => rand() - 0.5);
    for (const u of q) {
      const p = v.reduce((s, x, i) => s + x * u[i], 0);
      v = v.map((x, i) => x - p * u[i]);
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    if (norm > 1e-6) q.push(v.map((x) => x / norm));
  }
  return q;
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (float64, plain loops). */
export function refSymmetricEigenvalues(m: Mat): number[] {
  const d = m.length;
  const a = m.map((r) => r.slice());
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p][q] ** 2;
    if (off < 1e-30 * a.reduce((s, r, i) => s + r[i] ** 2, 0)) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]);
}

/** Anisotropy by the definition: centre, covariance in float64, largest eigenvalue over the trace. */
export function refAnisotropy(x: Mat): number {
  const n = x.length, d = x[0].length;
  const mean = new Array<number>(d).fill(0);
  for (const r of x) r.forEach((v, j) => (mean[j] += v / n));
  const c = x.map((r) => r.map((v, j) => v - mean[j]));
  const cov: Mat = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const r of c) for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) cov[p][q] += r[p] * r[q];
  const ev = refSymmetricEigenvalues(cov);
  return Math.max(...ev) / ev.reduce((s, v) => s + v, 0);
}
