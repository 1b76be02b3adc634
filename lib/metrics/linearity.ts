/**
 * The linearity score (the original notebook's compute_linearity_score) of two whole tensors
 * x [tokens, d_model] and y [tokens, d_model_y]: 1 - ||normalize(x) A - normalize(y)||_F^2 with A
 * the least-squares map. For chunked or streamed data use {@link LinearityAccumulator}.
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkShape } from "../numerics/check";
import { float32Data } from "../numerics/data";
import { needsQr, qrRescore } from "../numerics/qr-fit";
import { LinearityAccumulator, type PairScore, ScoreOptions } from "./linearity-accumulator";

/**
 * The scores of whole tensors: the Gram route (the accumulator), then, where its precision cut
 * was decided by the Gram's float64 floor for some direction, the QR of the data itself
 * (lib/numerics/qr-fit.ts), which resolves what the storage does; `cut.route` says which decided.
 */
export function wholeTensorScores(fn: string, x: tf.Tensor2D, y: tf.Tensor2D, residual: boolean, opts: ScoreOptions): PairScore {
  const acc = wholeTensorAccumulator(fn, x, y, residual, opts);
  const r = acc.result();
  if (opts.rcond !== undefined || !needsQr(r.cut)) return r;
  const f = acc.factor();
  const [, d] = x.shape, [, dy] = y.shape;
  const q = qrRescore([{ x: float32Data(x), y: float32Data(y) }], d, dy, { cut: r.cut, scale: f.scale, cols: f.cols, meanX: acc.mean(0), meanY: acc.mean(1) }, {
    storage: opts.storage ?? "float32",
    residual,
    native: opts.native,
    fn,
  });
  return { ...r, score: q.score, ...(residual ? { residualScore: q.residualScore } : {}), rank: q.rank, cut: q.cut };
}

/** An accumulator fed with all rows of x and y, after shape checks naming `fn`. */
export function wholeTensorAccumulator(fn: string, x: tf.Tensor2D, y: tf.Tensor2D, residual: boolean, opts: ScoreOptions): LinearityAccumulator {
  const [n, d] = checkShape(fn, "x", x.shape, ["tokens", "d_model"]);
  const [, dy] = checkShape(fn, "y", y.shape, [["tokens", n], residual ? ["d_model", d] : "d_model"]);
  const acc = new LinearityAccumulator(d, dy, { ...opts, fn, names: ["x", "y"], residual });
  acc.add(float32Data(x), float32Data(y));
  return acc;
}

/**
 * Linearity score of x -> y: 1 - ||normalize(x) A - normalize(y)||_F^2 with A the least-squares
 * map, i.e. the fraction of y's centred variance explained by a linear map of x.
 * x [tokens, d_model], y [tokens, d_model_y]. In [0, 1]; random pairs give about d/(tokens-1).
 */
export function linearityScore(x: tf.Tensor2D, y: tf.Tensor2D, opts: ScoreOptions = {}): number {
  return wholeTensorScores("linearityScore", x, y, false, opts).score;
}
