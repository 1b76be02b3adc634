/**
 * Which directions of X a least-squares fit keeps: the cut on the singular values of the centred,
 * column-equilibrated X (sigma_k^2 = lambda_k of R = S C S, unit diagonal; solve.ts).
 *
 * The default, the **precision cut**: keep every direction that the stored values resolve, cut
 * what their rounding cannot. A value stored in a float type with unit roundoff u carries a
 * rounding error uniform within half an ulp, and the ulp of |x| lies between 2u|x|/2 and 2u|x|:
 * averaged over a binade (mantissas log-uniform) the error variance is u^2 x^2 / 6. Over the n
 * rows of column j that is a noise energy (u^2 / 6) sum_t x_tj^2, and in the equilibrated
 * coordinates (column j divided by its centred norm sqrt(C_jj))
 *
 *     N_j = (u^2 / 6) * sumSquares_j / C_jj,
 *
 * so a column with a large offset (sumSquares_j >> C_jj) is noisier, as its stored digits are
 * spent on the offset. The noise energy along a unit direction v of the equilibrated X is
 * sum_j v_j^2 N_j; the largest of m such noise directions over n rows reaches about
 * (1 + sqrt(m / n))^2 times that. A direction is cut when its eigenvalue lambda_k is at or below
 *
 *     NOISE_MULTIPLE * (1 + sqrt(m / n))^2 * sum_j v_kj^2 N_j      (v_k: its eigenvector),
 *
 * i.e. when its energy is within NOISE_MULTIPLE times the rounding noise's along it, or
 * below what the float64 sums resolve, GRAM_ULPS sqrt(m) float64 ulps of the (shifted) raw
 * diagonal: the Gram's entries carry the rounding of sums of exact products, a few ulps each, and
 * the largest of up to m directions that are pure rounding reaches ~2 sqrt(m) times that. A cut
 * that this floor decided (a direction at or below it whose storage threshold is lower) may have
 * removed a direction the stored values resolve: solve.ts counts them (`gramFloorCut`), and where
 * the data is at hand qr-fit.ts decides those directions on a float64 QR of the data instead. Without eigenvectors (the Cholesky
 * fast path, which must prove that nothing is near the cut) the bound takes max_j N_j instead.
 * Calibrated on the accuracy cases of test/metrics/accuracy.test.ts (docs/numerics.md, "Accuracy").
 *
 * The override, **rcond** (numpy/torch pinv semantics): lambda_k <= rcond^2 lambda_max is cut.
 */

/** Float types a hidden state can be stored in. */
export type StorageDtype = "float64" | "float32" | "float16" | "bfloat16";

/** Unit roundoff (half an ulp at 1) of each storage type. */
export const UNIT_ROUNDOFF: Readonly<Record<StorageDtype, number>> = {
  float64: 2 ** -53,
  float32: 2 ** -24,
  float16: 2 ** -11,
  bfloat16: 2 ** -8,
};

/**
 * A direction is cut when its eigenvalue is at most this multiple of the expected rounding-noise
 * energy along it (times the (1 + sqrt(m/n))^2 edge of a pure-noise spectrum). A pure-noise
 * direction (a float32-rounded combination column) lands at 1x: 2 cuts it with margin; real
 * directions of the shipped states (float16) stay above it down to 2,000 tokens.
 */
export const NOISE_MULTIPLE = 2;

/**
 * The Gram's floor: eigenvalues of R at or below this many ulps of its sums (float64 by default),
 * times sqrt(m) and the largest raw-over-centred diagonal ratio, are not resolved. Measured: the
 * null directions of exactly rank-deficient X came out at 2-3 ulps (22,986 x 768, 100,000 x 256),
 * a float32-rounded combination column at 22 ulps (1,200 x 24), the 69 null directions of 960
 * repeated embedding rows (m = 128) at up to 58 ulps on OpenBLAS Haswell and JavaScript (blocked
 * sums), ~70 on OpenBLAS SkylakeX, 234 with unblocked JavaScript sums: 64 sqrt(128) = 724.
 */
export const GRAM_ULPS = 64;

/** How the values behind a Gram were stored: what the precision cut needs. */
export interface StoragePrecision {
  /** The type the values were stored in before the products (float16 / bfloat16 values are exact in float32). */
  dtype: StorageDtype;
  /** Rows summed; default: many (the (1 + sqrt(m/n)) factor is then 1). */
  rows?: number;
  /** Per column, the sum of the squared stored values (offsets included), [d]; default: the Gram's raw diagonal. */
  sumSquares?: Float64Array;
  /**
   * Relative rounding of the Gram's entries: float64 sums of exact products by default
   * (Number.EPSILON); the fallback's float32 route passes 2^-24 sqrt(blockRows).
   */
  gramRoundoff?: number;
}

/** The storage type of a dtype name as files and datasets spell it ("float32", "F32", "bf16", ...). */
export function storageDtypeOf(name: string): StorageDtype {
  const n = name.toLowerCase();
  if (n === "float64" || n === "f64" || n === "double") return "float64";
  if (n === "float16" || n === "f16" || n === "half") return "float16";
  if (n === "bfloat16" || n === "bf16") return "bfloat16";
  return "float32";
}

/** A cut, evaluated on the equilibrated Gram R. */
export interface CutRule {
  by: "precision" | "rcond";
  /** A threshold at or above every direction's: what the fast path must stay 100x clear of. */
  bound(lmax: number): number;
  /** The threshold for the direction with unit eigenvector `v` [m] (over the columns with variance). */
  threshold(lmax: number, v: Float64Array): number;
  /** Pivots of the unpivoted Cholesky at or below this send the factorization to the eigen path. */
  pivotFloor: number;
  /**
   * The floor of the sums the eigenvalues come from (the precision cut's Gram floor, or a QR's
   * resolution); 0 for rcond. A direction cut with its eigenvalue at or below it, where the
   * storage threshold is lower, was cut by the floor, not by the storage precision.
   */
  floor: number;
  /** The storage-noise threshold alone along `v` (no floor); 0 for rcond. */
  noise(v: Float64Array): number;
}

/**
 * The cut for C [d, d] with column scales `scale` (1/sqrt(C_jj), 0 for columns without variance)
 * over the columns `cols`: rcond when given, else the precision cut.
 */
export function cutRule(
  C: Float64Array,
  d: number,
  scale: Float64Array,
  cols: Int32Array,
  opts: { rcond?: number; precision?: StoragePrecision; rawDiag?: Float64Array; floor?: number },
): CutRule {
  const m = cols.length;
  // The float64 rounding of the factorization itself (as before: the pivots of a unit-diagonal matrix).
  const floor64 = 8 * Number.EPSILON * Math.max(1, m);
  if (opts.rcond !== undefined) {
    const r2 = opts.rcond * opts.rcond;
    return { by: "rcond", bound: (lmax) => r2 * lmax, threshold: (lmax) => r2 * lmax, pivotFloor: Math.max(r2 / 100, floor64), floor: 0, noise: () => 0 };
  }
  const p = opts.precision ?? { dtype: "float32" };
  const u = UNIT_ROUNDOFF[p.dtype];
  const spread = p.rows !== undefined && p.rows > 0 ? (1 + Math.sqrt(m / p.rows)) ** 2 : 1;
  const noise = new Float64Array(m); // N_j * NOISE_MULTIPLE * spread, per column with variance
  let noiseMax = 0, gramRatio = 1;
  for (let a = 0; a < m; a++) {
    const j = cols[a], s2 = scale[j] * scale[j]; // 1 / C_jj
    const raw = opts.rawDiag?.[j] ?? C[j * d + j];
    const sumSquares = p.sumSquares?.[j] ?? raw;
    noise[a] = NOISE_MULTIPLE * spread * ((u * u) / 6) * sumSquares * s2;
    noiseMax = Math.max(noiseMax, noise[a]);
    gramRatio = Math.max(gramRatio, raw * s2);
  }
  // The float64 sums' rounding: a few ulps per entry (blocked sums), and the largest of m null
  // directions' rounding reaches about 2 sqrt(m) times that (the edge of a random symmetric error).
  const gramFloor = opts.floor ?? GRAM_ULPS * gramRatio * (p.gramRoundoff ?? Number.EPSILON * Math.sqrt(m));
  const noiseAlong = (v: Float64Array) => {
    let t = 0;
    for (let a = 0; a < m; a++) t += v[a] * v[a] * noise[a];
    return t;
  };
  return {
    by: "precision",
    bound: () => Math.max(noiseMax, gramFloor),
    threshold: (_lmax, v) => Math.max(noiseAlong(v), gramFloor),
    pivotFloor: Math.max(noiseMax, gramFloor, floor64),
    floor: gramFloor,
    noise: noiseAlong,
  };
}
