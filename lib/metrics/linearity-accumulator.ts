/**
 * The linearity score of one pair of states, streamed: feed [rows, d_model] float32 chunks of X
 * and Y, read the score at the end. Memory O(d_model^2) whatever the number of tokens.
 */
import { GramAccumulator } from "../numerics/moments";
import { DEFAULT_RCOND, GramFactor, explainedSumSquares, factorGram, solveMap } from "../numerics/solve";

/**
 * Score of X against Y - X from the score of X against Y: 1 - (||Yc||^2 - explained) / ||Yc - Xc||^2.
 * NaN when Y - X has no variance beyond float32 rounding of Y (||Yc - Xc||^2 <= 1e-12 ||Yc||^2).
 */
export function residualScore(yy: number, explained: number, rr: number): number {
  return rr > 1e-12 * yy ? 1 - (yy - explained) / rr : NaN;
}

/** Result of a pair accumulator. */
export interface PairScore {
  /** 1 - ||normalize(X) A - normalize(Y)||_F^2, the fraction of Y's centred variance X explains linearly. */
  score: number;
  /** Score of X against Y - X (the paper's "w/o residual"); only when d_model of X and Y agree. */
  residualScore?: number;
  /** Tokens seen. */
  nTokens: number;
  /** Numerical rank of the centred X under the rcond cut-off. */
  rank: number;
  /** Whether X was whitened before its float32 products (the `whiten` option, or the "auto" decision). */
  whitened: boolean;
  /** Condition-number estimate of X's correlation matrix on the warm-up rows (NaN with `whiten: false`). */
  conditionEstimate: number;
}

/** Options shared by the score functions. */
export interface ScoreOptions {
  /** Relative cut-off for rank-deficient X (pinv semantics), default 1e-3. See docs/tensor.md. */
  rcond?: number;
  /** Rows per float32 matmul block, default 1024. */
  blockRows?: number;
  /**
   * Whiten X (with a transform estimated on the first 2 d_model rows) before its float32 products.
   * Costs one more [rows, d] x [d, d] matmul per block; without it, float32 errors are amplified by
   * the condition number of X's correlation matrix. "auto" (default): estimate that condition
   * number on the warm-up rows and whiten only when cond * 2^-24 * sqrt(blockRows) >
   * AUTO_WHITEN_MAX_PREDICTED (2e-3, i.e. cond > ~1,050 at 1024-row blocks). See docs/tensor.md ("Adaptive whitening").
   */
  whiten?: boolean | "auto";
  /**
   * Worker threads for the float32 products, used by the async variants only (`addAsync`,
   * `resultAsync`, `linearityScoreAsync`, `linearityMatrixAsync`): 0 or 1 = in-thread. Default:
   * env LINEARITY_WORKERS, else in-thread (DEFAULT_WORKERS = 1; 2 workers measured slower on the shared machine) (wasm
   * backend). The sync functions always run in-thread.
   */
  workers?: number;
}

/**
 * Streaming accumulator for the linearity score of X -> Y (and X -> Y - X).
 * `add(x, y)` takes row-major float32 chunks x [rows, d_model_x] and y [rows, d_model_y];
 * errors name the function `fn`, the argument and the absolute row.
 */
export class LinearityAccumulator {
  private readonly acc: GramAccumulator;
  private readonly residual: boolean;

  constructor(
    readonly dModelX: number,
    readonly dModelY: number = dModelX,
    private readonly opts: ScoreOptions & { fn?: string; names?: [string, string] } = {},
  ) {
    this.residual = dModelX === dModelY;
    this.acc = new GramAccumulator({
      fn: opts.fn ?? "LinearityAccumulator",
      names: opts.names ?? ["x", "y"],
      dims: [dModelX, dModelY],
      products: [[0, 0], [0, 1]],
      differences: this.residual ? [[0, 1]] : [],
      blockRows: opts.blockRows,
      whiten: [opts.whiten ?? "auto", false],
      workers: opts.workers,
    });
  }

  /** Add the same rows of X [rows, d_model_x] and Y [rows, d_model_y] (in-thread). */
  add(x: Float32Array, y: Float32Array): void {
    this.acc.add([x, y]);
  }

  /**
   * As {@link add}, with the products on worker threads (see {@link ScoreOptions.workers}).
   * Await each call; finish with {@link resultAsync}, or {@link dispose} to abandon. On an
   * error the workers are stopped.
   */
  addAsync(x: Float32Array, y: Float32Array): Promise<void> {
    return this.acc.addAsync([x, y]);
  }

  /** Collect the workers' sums, stop them, and return {@link result}. */
  async resultAsync(): Promise<PairScore> {
    await this.acc.finishAsync();
    return this.result();
  }

  /** Stop any worker threads (an abandoned async accumulator; idle workers never keep the process alive anyway). */
  dispose(): Promise<void> {
    return this.acc.dispose();
  }

  /** Worker threads now running (0 when in-thread). */
  get activeWorkers(): number {
    return this.acc.activeWorkers;
  }

  /** The underlying Gram accumulator (diagnostics and tests). */
  get gram(): GramAccumulator {
    return this.acc;
  }

  /** Tokens seen so far. */
  get nTokens(): number {
    return this.acc.rows;
  }

  /** Factorized centred Gram of X (for maps and per-token residuals). */
  factor(): GramFactor {
    return factorGram(this.acc.centered(0, 0), this.dModelX, this.opts.rcond ?? DEFAULT_RCOND, this.acc.shiftedDiagonal(0));
  }

  /** Minimum-norm map B [d_model_x, d_model_y] with (Y - mean) ~= (X - mean) B, float64. */
  centeredMap(): Float64Array {
    const Bw = solveMap(this.factor(), this.acc.centered(0, 1), this.dModelY);
    const T = this.acc.transform(0);
    if (!T) return Bw;
    // The map was solved for x' = x T: x B = x (T B').
    const d = this.dModelX, m = this.dModelY;
    const B = new Float64Array(d * m);
    for (let a = 0; a < d; a++) {
      for (let k = 0; k < d; k++) {
        const t = T[a * d + k];
        if (t === 0) continue;
        for (let c = 0; c < m; c++) B[a * m + c] += t * Bw[k * m + c];
      }
    }
    return B;
  }

  /** Column means of X (0) or Y (1), float64. */
  mean(which: 0 | 1): Float64Array {
    return this.acc.mean(which);
  }

  /** ||Y - mean(Y)||_F^2. */
  centeredSumSquaresY(): number {
    return this.acc.centeredSumSquares(1);
  }

  /** The scores. Throws when Y has no variance (then the score is 0/0). */
  result(): PairScore {
    const fn = this.acc.fn;
    const yy = this.acc.centeredSumSquares(1);
    if (!(yy > 0)) throw new Error(`${fn}: '${this.acc.names[1]}' has no variance (every row is the same); the score is undefined`);
    const f = this.factor();
    const explained = explainedSumSquares(f, this.acc.centered(0, 1), this.dModelY);
    const out: PairScore = {
      score: explained / yy, nTokens: this.acc.rows, rank: f.rank,
      whitened: this.acc.whitened(0), conditionEstimate: this.acc.conditionEstimate(0),
    };
    if (this.residual) {
      // The least-squares residual of Y - X on X equals that of Y on X (X lies in its own span),
      // so only the denominator changes; this avoids float32 cancellation in C_xy - C_xx.
      const rr = this.acc.centeredDifferenceSumSquares(0, 1);
      out.residualScore = residualScore(yy, explained, rr);
    }
    return out;
  }
}
