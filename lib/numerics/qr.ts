/**
 * A float64 Householder QR of a tall matrix fed in row blocks (a streaming "TSQR"), with Q^T
 * applied to a second matrix alongside: for X [n, p] and Y [n, q] given block by block, it keeps
 * R [p, p] (X = Q R), Z = Q_1^T Y [p, q] (Y's coordinates in X's column space) and the sum of
 * squares of Q_2^T Y (Y's part orthogonal to X's columns: the residual of the least-squares fit
 * that keeps every direction of X). Memory O(p (p + q)) plus one block, whatever n.
 *
 * Each block B_x [b, p], B_y [b, q] is folded in by the QR of [R; B_x] with the same reflections
 * applied to [Z; B_y]: on the native LAPACK (dgeqrf, dormqr on the stacked column-major blocks,
 * native/blas.c) when it loaded and passed its self-test, else in JavaScript, where the reflector
 * of column j has non-zeros only in row j of R and in B (R is triangular), so a block costs
 * 2 b p^2 + 4 b p q flops. No Gram matrix: the QR's backward error is float64 rounding of X
 * itself, so it resolves singular values down to ~1e-15 of the largest, where a Gram resolves
 * ~1e-8 (it squares the condition number).
 */
import { nativeBlas, type NativeLapack } from "../native/blas";

type QrCalls = Pick<NativeLapack, "qrColMajor" | "applyQtColMajor">;

/** The native QR calls, or undefined (no library, one without them, or `native` false). */
export function nativeQr(native = true): QrCalls | undefined {
  const l = native ? nativeBlas()?.lapack : undefined;
  return l?.qrColMajor && l.applyQtColMajor ? { qrColMajor: l.qrColMajor, applyQtColMajor: l.applyQtColMajor } : undefined;
}

/** The streaming QR (see the file comment). */
export class StreamingQr {
  /** R [p, p], column-major upper triangle (zeros below). */
  readonly R: Float64Array;
  /** Q_1^T Y [p, q], column-major. */
  readonly Z: Float64Array;
  /** Sum of squares of Q_2^T Y: what no combination of X's columns explains. */
  trailing = 0;
  /** Rows folded in. */
  rows = 0;
  private readonly calls: QrCalls | undefined;

  /** `native` false forces the JavaScript reflections. */
  constructor(readonly p: number, readonly q: number, native = true) {
    this.R = new Float64Array(p * p);
    this.Z = new Float64Array(p * q);
    this.calls = nativeQr(native);
  }

  /** "native" (LAPACK dgeqrf / dormqr) or "javascript". */
  get kernels(): "native" | "javascript" {
    return this.calls ? "native" : "javascript";
  }

  /**
   * Fold in b rows: Bx [b, p] and By [b, q], both COLUMN-major (column c at c * b); both are
   * overwritten.
   */
  add(Bx: Float64Array, By: Float64Array, b: number): void {
    if (b === 0) return;
    if (this.calls) this.addNative(Bx, By, b, this.calls);
    else this.addJs(Bx, By, b);
    this.rows += b;
  }

  private addNative(Bx: Float64Array, By: Float64Array, b: number, calls: QrCalls): void {
    const { p, q, R, Z } = this, m = p + b;
    const A = new Float64Array(m * p), C = new Float64Array(m * q), tau = new Float64Array(p);
    for (let c = 0; c < p; c++) {
      A.set(R.subarray(c * p, c * p + c + 1), c * m);
      A.set(Bx.subarray(c * b, (c + 1) * b), c * m + p);
    }
    for (let c = 0; c < q; c++) {
      C.set(Z.subarray(c * p, (c + 1) * p), c * m);
      C.set(By.subarray(c * b, (c + 1) * b), c * m + p);
    }
    let info = calls.qrColMajor(m, p, A, m, tau);
    if (info !== 0) throw new Error(`StreamingQr: LAPACK dgeqrf failed (info ${info})`);
    info = calls.applyQtColMajor(m, q, p, A, m, tau, C, m);
    if (info !== 0) throw new Error(`StreamingQr: LAPACK dormqr failed (info ${info})`);
    for (let c = 0; c < p; c++) for (let r = 0; r <= c; r++) R[c * p + r] = A[c * m + r];
    let t = 0;
    for (let c = 0; c < q; c++) {
      Z.set(C.subarray(c * m, c * m + p), c * p);
      for (let r = p; r < m; r++) t += C[c * m + r] * C[c * m + r];
    }
    this.trailing += t;
  }

  private addJs(Bx: Float64Array, By: Float64Array, b: number): void {
    const { p, q, R, Z } = this;
    for (let j = 0; j < p; j++) {
      const xo = j * b, a0 = R[j * p + j];
      let below = 0;
      for (let t = 0; t < b; t++) below += Bx[xo + t] * Bx[xo + t];
      if (below === 0) continue; // column j of B is already zero: nothing to reflect
      const norm = Math.sqrt(a0 * a0 + below);
      const beta = a0 >= 0 ? -norm : norm; // LAPACK's dlarfg: beta = -sign(alpha) ||x||, sign(0) = +
      const v0 = a0 - beta, tau = 2 / (v0 * v0 + below);
      // The reflector is (v0 at row j of R; column j of Bx).
      const reflect = (M: Float64Array, mo: number, Bm: Float64Array, bo: number) => {
        let w = v0 * M[mo];
        for (let t = 0; t < b; t++) w += Bx[xo + t] * Bm[bo + t];
        const f = tau * w;
        if (f === 0) return;
        M[mo] -= f * v0;
        for (let t = 0; t < b; t++) Bm[bo + t] -= f * Bx[xo + t];
      };
      for (let c = j + 1; c < p; c++) reflect(R, c * p + j, Bx, c * b);
      for (let c = 0; c < q; c++) reflect(Z, c * p + j, By, c * b);
      R[j * p + j] = beta;
      Bx.fill(0, xo, xo + b);
    }
    let t = 0;
    for (let k = 0; k < q * b; k++) t += By[k] * By[k];
    this.trailing += t;
  }
}
