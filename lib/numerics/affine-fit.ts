/**
 * Streaming least-squares affine fit y ~= x W + b on [rows, d_x] / [rows, d_y] float32 chunks,
 * centred, with bias: W is the minimum-norm map of the centred data (pinv semantics with the same
 * rcond cut-off and product routes as the linearity score), b = mean(y) - mean(x) W. Memory
 * O(d_x (d_x + d_y)) whatever the number of rows. Used to replace a transformer block by a
 * linear map (lib/interventions).
 */
import { GramAccumulator } from "./gram-accumulator";
import { explainedSumSquares, solveMap } from "./solve";

/** The fitted map. */
export interface AffineFit {
  /** [d_x, d_y] row-major, in the [in, out] layout (y = x W + b). */
  readonly weight: Float64Array;
  /** [d_y]. */
  readonly bias: Float64Array;
  /** Fraction of y's centred sum of squares the fit explains (R^2; equals the linearity score of x -> y). */
  readonly r2: number;
  /** Numerical rank of the centred x under the rcond cut-off. */
  readonly rank: number;
  readonly rows: number;
}

export interface AffineFitOptions {
  /** Explicit relative cut-off for rank-deficient x (default: the precision cut, as the linearity score). */
  rcond?: number;
  /** Rows per float32 product block (default DEFAULT_BLOCK_ROWS). */
  blockRows?: number;
  /** x's product route: "auto" (default; see docs/numerics.md), "float32" or "float64". */
  route?: "auto" | "float32" | "float64";
  /** Names in error messages. */
  fn?: string;
  names?: [string, string];
}

/** Accumulate (x, y) chunks with `add`, then read the fit with `result`. */
export class AffineFitAccumulator {
  private readonly acc: GramAccumulator<"x" | "y">;

  constructor(readonly dX: number, readonly dY: number, private readonly opts: AffineFitOptions = {}) {
    this.acc = new GramAccumulator({
      fn: opts.fn ?? "AffineFitAccumulator",
      states: [
        { key: "x", name: opts.names?.[0], dim: dX, route: opts.route ?? "auto" },
        { key: "y", name: opts.names?.[1], dim: dY, route: "float32" },
      ],
      products: [["x", "x"], ["x", "y"]],
      blockRows: opts.blockRows,
    });
  }

  /** Add the same rows of x [rows, d_x] and y [rows, d_y], row-major float32. */
  add(x: Float32Array, y: Float32Array): void {
    this.acc.add([x, y]);
  }

  get rows(): number {
    return this.acc.rows;
  }

  /** The fit of everything added. Throws without rows or when y has no variance. */
  result(): AffineFit {
    const fn = this.acc.fn;
    if (this.acc.rows === 0) throw new Error(`${fn}: no rows were added`);
    const yy = this.acc.centeredSumSquares("y");
    if (!(yy > 0)) throw new Error(`${fn}: '${this.acc.nameOf("y")}' has no variance (every row is the same); nothing to fit`);
    const dX = this.dX, dY = this.dY;
    const f = this.acc.factor("x", { rcond: this.opts.rcond });
    const Cxy = this.acc.centered("x", "y");
    const r2 = explainedSumSquares(f, Cxy, dY) / yy;
    const weight = solveMap(f, Cxy, dY);
    // Bias: the fit passes through the means.
    const mx = this.acc.mean("x"), my = this.acc.mean("y");
    const bias = new Float64Array(dY);
    for (let c = 0; c < dY; c++) {
      let s = my[c];
      for (let a = 0; a < dX; a++) s -= mx[a] * weight[a * dY + c];
      bias[c] = s;
    }
    return { weight, bias, r2, rank: f.rank, rows: this.acc.rows };
  }
}
