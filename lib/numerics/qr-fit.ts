/**
 * The least-squares fit of Y on X from a float64 QR of the data itself, for the directions a Gram
 * cannot resolve (docs/numerics.md, "Numerics" 4): a Gram squares X's condition number, so its
 * float64 eigenvalues stop at ~1e-14 of the largest (singular values ~1e-7 of the largest, cut.ts's
 * Gram floor), while float32 storage resolves singular values down to ~3e-8. When the precision
 * cut of a Gram was decided by that floor for some direction (`cut.gramFloorCut` > 0) and the rows
 * are at hand, the scores are recomputed here: X centred (float64 means) and column-equilibrated
 * (the Gram's column scales, columns without variance left out) and Y centred are folded block by
 * block into a streaming Householder QR (qr.ts: R, Z = Q_1^T Y, the trailing sum of squares of
 * Q_2^T Y), R [m, m] gets its SVD (svd-small.ts, on R itself), and the cut keeps singular
 * direction k when sigma_k^2 is above the storage-noise threshold along v_k (cut.ts, the same
 * formula as the Gram's) and above the QR's own floor (64 sqrt(m) float64 ulps of sigma_max).
 * The residual sum of squares comes from the trailing part: SSE = ||Q_2^T Y||^2 + the part of Z
 * along the cut directions; the residual score's Q_1^T (Y - X)_c = Z - R S^-1 (X_c = X_eq S^-1)
 * and its trailing part is Y's (X has none).
 */
import { type StorageDtype, cutRule } from "./cut";
import type { CutReport } from "./solve";
import { StreamingQr } from "./qr";
import { svdSquare } from "./svd-small";

/** The QR's resolution: singular values at or below QR_ULPS sqrt(m) float64 ulps of the largest are rounding. */
export const QR_ULPS = 64;

/** Rows folded into the QR at a time. */
const BLOCK_ROWS = 4096;

/** Options of {@link QrFit}. */
export interface QrFitOptions {
  /** Column means of X [d_x] and Y [d_y], float64 (the rows are centred about them). */
  meanX: Float64Array;
  meanY: Float64Array;
  /** Per X column 1/||x_c|| (centred norm), 0 for a column without variance; and the columns with variance (a Gram factor's `scale`, `cols`). */
  scale: Float64Array;
  cols: Int32Array;
  /** How X was stored (the precision cut's noise). */
  storage: StorageDtype;
  /** Also the score of X against Y - X (same d_model). */
  residual?: boolean;
  /** An explicit rcond instead of the precision cut. */
  rcond?: number;
  /** Use the native LAPACK where it loaded (default true). */
  native?: boolean;
  /** Function name for errors. */
  fn?: string;
}

/** What {@link QrFit.result} gives. */
export interface QrScore {
  score: number;
  /** With `residual`: NaN when Y - X has no variance beyond float32 rounding. */
  residualScore?: number;
  nTokens: number;
  rank: number;
  cut: CutReport;
  /** Singular values of the centred, equilibrated X over the largest, descending. */
  singularValues: Float64Array;
  /** "native" (LAPACK) or "javascript" QR kernels. */
  kernels: "native" | "javascript";
}

/** Feed the same rows of X and Y (row-major float32 chunks), then read {@link QrScore}. */
export class QrFit {
  private readonly qr: StreamingQr;
  private readonly m: number;
  private readonly sumSquares: Float64Array;
  private readonly bx: Float64Array;
  private readonly by: Float64Array;
  private held = 0;
  private yy = 0;
  private dd = 0;

  constructor(readonly dx: number, readonly dy: number, private readonly opts: QrFitOptions) {
    if (opts.residual && dx !== dy) throw new Error(`${opts.fn ?? "QrFit"}: the residual score needs the same d_model, got ${dx} and ${dy}`);
    this.m = opts.cols.length;
    this.qr = new StreamingQr(this.m, dy, opts.native ?? true);
    this.sumSquares = new Float64Array(dx);
    this.bx = new Float64Array(BLOCK_ROWS * this.m);
    this.by = new Float64Array(BLOCK_ROWS * dy);
  }

  /** Add rows: x [rows, d_x] and y [rows, d_y], row-major. */
  add(x: Float32Array, y: Float32Array): void {
    const { dx, dy, m } = this, { meanX, meanY, scale, cols } = this.opts;
    const rows = x.length / dx;
    for (let t = 0; t < rows; t++) {
      const xo = t * dx, yo = t * dy, h = this.held;
      for (let j = 0; j < dx; j++) this.sumSquares[j] += x[xo + j] * x[xo + j];
      for (let a = 0; a < m; a++) {
        const j = cols[a];
        this.bx[a * BLOCK_ROWS + h] = (x[xo + j] - meanX[j]) * scale[j];
      }
      for (let c = 0; c < dy; c++) {
        const v = y[yo + c] - meanY[c];
        this.by[c * BLOCK_ROWS + h] = v;
        this.yy += v * v;
      }
      if (this.opts.residual) {
        for (let c = 0; c < dx; c++) {
          const v = y[yo + c] - x[xo + c] - (meanY[c] - meanX[c]);
          this.dd += v * v;
        }
      }
      if (++this.held === BLOCK_ROWS) this.flush();
    }
  }

  private flush(): void {
    const b = this.held;
    if (b === 0) return;
    // Column-major blocks of b rows (the buffers hold columns of BLOCK_ROWS).
    const cx = b === BLOCK_ROWS ? this.bx : compact(this.bx, this.m, b);
    const cy = b === BLOCK_ROWS ? this.by : compact(this.by, this.dy, b);
    this.qr.add(cx, cy, b); // overwrites them: the next rows rewrite every entry
    this.held = 0;
  }

  result(): QrScore {
    this.flush();
    const { m, dx, dy, qr } = this, { R, Z } = qr, n = qr.rows;
    const { s, U, V } = svdSquare(R, m, this.opts.native ?? true);
    const lmax = m > 0 ? s[0] * s[0] : 0;
    const floor = (QR_ULPS * Math.sqrt(m) * Number.EPSILON) ** 2 * lmax;
    const rule = cutRule(new Float64Array(0), dx, this.opts.scale, this.opts.cols, {
      rcond: this.opts.rcond,
      precision: { dtype: this.opts.storage, rows: n, sumSquares: this.sumSquares },
      rawDiag: this.sumSquares,
      floor,
    });
    const kept: number[] = [];
    for (let k = 0; k < m; k++) {
      const l = s[k] * s[k];
      if (l > 0 && l > rule.threshold(lmax, V.subarray(k * m, (k + 1) * m)) && l > floor) kept.push(k);
    }
    const rank = kept.length;
    const sse = (W: Float64Array) => {
      let ww = 0, explained = 0;
      for (let c = 0; c < dy; c++) {
        const wc = W.subarray(c * m, (c + 1) * m);
        for (let r = 0; r < m; r++) ww += wc[r] * wc[r];
        for (const k of kept) {
          let p = 0;
          for (let r = 0; r < m; r++) p += U[k * m + r] * wc[r];
          explained += p * p;
        }
      }
      const total = ww + qr.trailing;
      return { total, sse: qr.trailing + Math.max(0, ww - explained) };
    };
    const fit = sse(Z);
    const cut: CutReport = { by: rule.by, relative: lmax > 0 ? Math.sqrt(Math.max(rule.bound(lmax), floor) / lmax) : NaN, count: dx - rank, route: "qr", gramFloorCut: 0 };
    const out: QrScore = {
      score: clamp(1 - fit.sse / fit.total),
      nTokens: n,
      rank,
      cut,
      singularValues: Float64Array.from(s, (v) => (s[0] > 0 ? v / s[0] : 0)),
      kernels: qr.kernels,
    };
    if (this.opts.residual) {
      // Q_1^T (Y - X)_c = Z - R S^-1 (column cols[a] of X_c is column a of X_eq over scale).
      const W = Float64Array.from(Z);
      this.opts.cols.forEach((j, a) => {
        const inv = 1 / this.opts.scale[j];
        for (let r = 0; r <= a; r++) W[j * m + r] -= R[a * m + r] * inv;
      });
      const f = sse(W);
      out.residualScore = this.dd > 1e-12 * this.yy ? clamp(1 - f.sse / f.total) : NaN;
    }
    return out;
  }
}

/** A Gram-route result whose cut the Gram floor decided, and what a QR rescore needs from it. */
export interface GramOutcome {
  cut: CutReport;
  scale: Float64Array;
  cols: Int32Array;
  meanX: Float64Array;
  meanY: Float64Array;
}

/**
 * Whether a Gram's precision cut leaves directions to a QR of the data: some direction was cut by
 * the Gram's float64 floor rather than by the storage precision (an rcond cut is the user's and
 * stays on the Gram).
 */
export function needsQr(cut: CutReport): boolean {
  return cut.by === "precision" && cut.route === "gram" && cut.gramFloorCut > 0;
}

/**
 * The QR rescore of rows that `chunks` yields again (row-major float32 x [rows, d_x], y [rows,
 * d_y]), with the means and column scales of their Gram pass.
 */
export function qrRescore(
  chunks: Iterable<{ x: Float32Array; y: Float32Array }>,
  dx: number,
  dy: number,
  g: GramOutcome,
  opts: { storage: StorageDtype; residual?: boolean; native?: boolean; fn?: string },
): QrScore {
  const fit = new QrFit(dx, dy, { meanX: g.meanX, meanY: g.meanY, scale: g.scale, cols: g.cols, ...opts });
  for (const c of chunks) fit.add(c.x, c.y);
  return fit.result();
}

/** The first b rows of each of `cols` columns held with stride BLOCK_ROWS, as a packed [b, cols] column-major copy. */
function compact(buf: Float64Array, cols: number, b: number): Float64Array {
  const out = new Float64Array(cols * b);
  for (let c = 0; c < cols; c++) out.set(buf.subarray(c * BLOCK_ROWS, c * BLOCK_ROWS + b), c * b);
  return out;
}

function clamp(v: number): number {
  return Number.isNaN(v) ? v : Math.min(1, Math.max(0, v));
}
