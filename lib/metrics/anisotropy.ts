/**
 * Anisotropy of a hidden state [tokens, d_model]: the share of the variance along its main
 * direction, lambda_max(C) / trace(C) for the centred covariance C. LLM-Microscope computes the
 * same number as s_max^2 / sum s^2 of the centred states' singular values (or by 100 power-method
 * steps); 1 means every token varies along one line, 1/d_model means a perfectly round cloud.
 *
 * Streaming: the centred Gram sum (X - mean)^T (X - mean) is accumulated chunk by chunk in
 * float64 (GramAccumulator: float32 block products on shifted rows, float64 sums), so memory is
 * O(d_model^2) whatever the number of tokens; trace(C) comes from float64 sums of squares, and
 * lambda_max from Lanczos on the d_model x d_model sum (top-eigenvalue.ts).
 */
import { GramAccumulator } from "../numerics/gram-accumulator";
import { topEigenvalue } from "./top-eigenvalue";
import { UndefinedMetricError } from "./undefined-metric";

/** Anisotropy of one state: largest covariance eigenvalue over the trace, with both parts and the token count. */
export interface AnisotropyResult {
  /** lambda_max / trace of the centred covariance, in [1/d_model, 1]. */
  anisotropy: number;
  /** lambda_max of the centred covariance (divided by tokens). */
  topVariance: number;
  /** trace of the centred covariance (divided by tokens): the mean squared distance to the mean. */
  totalVariance: number;
  tokens: number;
}

/** Streaming anisotropy over [rows, d_model] chunks of one state. */
export class AnisotropyAccumulator {
  private readonly gram: GramAccumulator<"x">;

  constructor(readonly dModel: number, opts: { fn?: string; name?: string; blockRows?: number } = {}) {
    this.gram = new GramAccumulator({
      fn: opts.fn ?? "anisotropy",
      states: [{ key: "x", name: opts.name, dim: dModel }],
      products: [["x", "x"]],
      blockRows: opts.blockRows,
    });
  }

  /** Add rows, [rows, d_model] row-major (NaN/Inf throws, naming the row and column). */
  add(x: Float32Array): void {
    this.gram.add([x]);
  }

  get tokens(): number {
    return this.gram.rows;
  }

  result(): AnisotropyResult {
    const n = this.gram.rows;
    if (n < 2) throw new Error(`${this.gram.fn}: need at least 2 tokens, got ${n}`);
    const trace = this.gram.centeredSumSquares("x");
    if (!(trace > 0)) {
      throw new UndefinedMetricError(`${this.gram.fn}: '${this.gram.nameOf("x")}' has no variance (every token is the same vector)`, "no variance");
    }
    const top = topEigenvalue(this.gram.centered("x", "x"), this.dModel).value;
    return { anisotropy: top / trace, topVariance: top / n, totalVariance: trace / n, tokens: n };
  }
}

/** Anisotropy of x [tokens, d_model] (see the file comment). */
export function anisotropy(x: Float32Array, dModel: number): AnisotropyResult {
  const acc = new AnisotropyAccumulator(dModel);
  acc.add(x);
  return acc.result();
}
