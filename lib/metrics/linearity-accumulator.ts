/**
 * The linearity score of one pair of states, streamed: feed [rows, d_model] float32 chunks of X
 * and Y, read the score at the end. Memory O(d_model^2) whatever the number of tokens.
 */
import { GramAccumulator } from "../numerics/gram-accumulator";
import type { StorageDtype } from "../numerics/cut";
import { type CutReport, GramFactor, explainedSumSquares, solveMap } from "../numerics/solve";
import { UndefinedMetricError } from "./undefined-metric";

/**
 * A score clamped to [0, 1]: explained / total can leave the interval by rounding only (an
 * explained sum can exceed the total by a few ulps); never print 1.000000003.
 */
export function clampScore(v: number): number {
  return Number.isNaN(v) ? v : Math.min(1, Math.max(0, v));
}

/** Result of a pair accumulator. */
export interface PairScore {
  /** 1 - ||normalize(X) A - normalize(Y)||_F^2, the fraction of Y's centred variance X explains linearly. */
  score: number;
  /** Score of X against Y - X (the paper's "w/o residual"), with option `residual`. NaN when Y - X is constant. */
  residualScore?: number;
  /** Tokens seen. */
  nTokens: number;
  /** Numerical rank of the centred X under the cut (singular values of the column-equilibrated centred X). */
  rank: number;
  /** What the cut removed: `count` = d_model_x - rank directions, at `relative` x the largest singular value, `by` precision (default) or rcond. */
  cut: CutReport;
  /** How X's products were formed: "float32" (tfjs matmuls) or "float64" (exact: every X on the native BLAS, else ill-conditioned X). */
  route: "float32" | "float64";
  /** True when the products ran on the native BLAS (lib/native). */
  native: boolean;
  /** Condition-number estimate of X's correlation matrix on the warm-up rows (NaN when no warm-up decided the route: forced, or native). */
  conditionEstimate: number;
}

/** Options shared by the score functions. */
export interface ScoreOptions {
  /**
   * An explicit cut-off with numpy/torch pinv semantics, replacing the default precision cut:
   * singular values of the centred, column-equilibrated X at or below rcond x the largest are cut.
   * Default: the precision cut, which keeps every direction the stored values resolve (see
   * `storage` and docs/numerics.md, "Numerics").
   */
  rcond?: number;
  /**
   * How X was stored before it reached these float32 buffers, for the precision cut: "float32"
   * (default), "float16" or "bfloat16" (exact in float32, coarser rounding), "float64" (values
   * that were float64 and are exact here).
   */
  storage?: StorageDtype;
  /** Rows per float32 matmul block, default 256 (the native route uses larger blocks). */
  blockRows?: number;
  /**
   * How X's products are formed: "auto" (default) takes "float64" (exact products) on the native
   * BLAS. Without it, "auto" estimates the condition number of X's correlation matrix on the
   * warm-up rows (the first 4 d_model) and takes "float32" (fast tfjs matmuls) when
   * cond * 2^-24 * sqrt(blockRows) <= 3e-4, else "float64" (exact products in JavaScript, slower).
   */
  route?: "auto" | "float32" | "float64";
  /** Use the native BLAS when available (default true; see lib/native). false: the tfjs / JavaScript routes. */
  native?: boolean;
}

/** The route option ("auto" by default). */
export function routeOption(opts: ScoreOptions): "auto" | "float32" | "float64" {
  return opts.route ?? "auto";
}

/** The states of a linearity score: X, Y, and with the residual D = Y - X. */
type LinearityState = "x" | "y" | "diff";

/**
 * Streaming accumulator for the linearity score of X -> Y (and, with option `residual`, of
 * X -> Y - X; same d_model only).
 * `add(x, y)` takes row-major float32 chunks x [rows, d_model_x] and y [rows, d_model_y];
 * errors name the function `fn`, the argument and the absolute row.
 */
export class LinearityAccumulator {
  private readonly acc: GramAccumulator<LinearityState>;
  private readonly residual: boolean;

  constructor(
    readonly dModelX: number,
    readonly dModelY: number = dModelX,
    private readonly opts: ScoreOptions & { fn?: string; names?: [string, string]; residual?: boolean } = {},
  ) {
    this.residual = opts.residual ?? false;
    if (this.residual && dModelX !== dModelY) {
      throw new Error(`${opts.fn ?? "LinearityAccumulator"}: the residual score needs the same d_model, got ${dModelX} and ${dModelY}`);
    }
    // With the residual, X^T (Y - X) is a product of its own (Y - X formed exactly per row): the
    // residual score then needs no subtraction of two large Gram matrices, which would cancel.
    this.acc = new GramAccumulator<LinearityState>({
      fn: opts.fn ?? "LinearityAccumulator",
      states: [
        { key: "x", name: opts.names?.[0], dim: dModelX, route: routeOption(opts) },
        { key: "y", name: opts.names?.[1], dim: dModelY, route: "float32" },
      ],
      differences: this.residual ? [{ key: "diff", from: "x", to: "y" }] : [],
      products: this.residual ? [["x", "x"], ["x", "y"], ["x", "diff"]] : [["x", "x"], ["x", "y"]],
      blockRows: opts.blockRows,
      native: opts.native,
    });
  }

  /** Add the same rows of X [rows, d_model_x] and Y [rows, d_model_y]. */
  add(x: Float32Array, y: Float32Array): void {
    this.acc.add([x, y]);
  }

  /** The underlying Gram accumulator (diagnostics and tests). */
  get gram(): GramAccumulator<LinearityState> {
    return this.acc;
  }

  /** How X's products were formed (decided at the end of the warm-up). */
  get route(): "float32" | "float64" {
    return this.acc.route("x");
  }

  /** Tokens seen so far. */
  get nTokens(): number {
    return this.acc.rows;
  }

  /** Factorized centred Gram of X (for maps and per-token residuals). Throws when X has no variance. */
  factor(): GramFactor {
    const f = this.acc.factor("x", { rcond: this.opts.rcond, storage: this.opts.storage });
    if (f.rank === 0) {
      throw new UndefinedMetricError(`${this.acc.fn}: '${this.acc.nameOf("x")}' has no variance (every row is the same); the score is undefined`, `${this.acc.nameOf("x")} has no variance`);
    }
    return f;
  }

  /** Centred cross-product X_c^T Y_c, [d_model_x, d_model_y]. */
  private crossXY(): Float64Array {
    return this.acc.centered("x", "y");
  }

  /** Minimum-norm map B [d_model_x, d_model_y] with (Y - mean) ~= (X - mean) B, float64. */
  centeredMap(): Float64Array {
    return solveMap(this.factor(), this.crossXY(), this.dModelY);
  }

  /** Column means of X (0) or Y (1), float64. */
  mean(which: 0 | 1): Float64Array {
    return this.acc.mean(which === 0 ? "x" : "y");
  }

  /** ||Y - mean(Y)||_F^2. */
  centeredSumSquaresY(): number {
    return this.acc.centeredSumSquares("y");
  }

  /** The scores. Throws when X or Y has no variance (then the score is undefined). */
  result(): PairScore {
    const fn = this.acc.fn;
    const yy = this.acc.centeredSumSquares("y");
    if (!(yy > 0)) {
      throw new UndefinedMetricError(`${fn}: '${this.acc.nameOf("y")}' has no variance (every row is the same); the score is undefined`, `${this.acc.nameOf("y")} has no variance`);
    }
    const f = this.factor();
    const out: PairScore = {
      score: clampScore(explainedSumSquares(f, this.crossXY(), this.dModelY) / yy),
      nTokens: this.acc.rows,
      rank: f.rank,
      cut: f.cut,
      route: this.acc.route("x"),
      native: this.acc.native,
      conditionEstimate: this.acc.conditionEstimate("x"),
    };
    if (this.residual) {
      // The score of X against D = Y - X, from X^T D itself (D formed exactly per row).
      const dd = this.acc.centeredSumSquares("diff");
      // NaN when Y - X has no variance beyond float32 rounding of Y (Y = X + constant).
      out.residualScore = dd > 1e-12 * yy ? clampScore(explainedSumSquares(f, this.acc.centered("x", "diff"), this.dModelX) / dd) : NaN;
    }
    return out;
  }
}
