/**
 * The linearity score of two [tokens, d_model] matrices stored in files (.npy, or .safetensors
 * holding one tensor), streamed in chunks so neither file is loaded whole.
 */
import { npySource, safetensorsSource, type RowSource } from "../dataset/sources";
import { FLOAT32_MAX } from "../io/npy";
import { LinearityAccumulator, type ScoreOptions } from "../metrics/linearity-accumulator";

export interface FileScore {
  /** Linearity score of X -> Y. */
  score: number;
  /** Score of X against Y - X, when asked for (same d_model only). */
  residualScore?: number;
  nTokens: number;
  dModelX: number;
  dModelY: number;
  dtypeX: string;
  dtypeY: string;
  /** Numerical rank of the centred X (singular values of the column-equilibrated X above rcond x the largest). */
  rank: number;
  /** How X's products were formed ("float32" fast matmuls, or exact "float64": native BLAS, or an ill-conditioned X). */
  route: "float32" | "float64";
  /** True when the products ran on the native BLAS. */
  native: boolean;
  /** Condition-number estimate of X's correlation matrix on the warm-up rows, which chose the route. */
  conditionEstimate: number;
}

/** Options of {@link scoreFiles}. */
export interface ScoreFilesOptions extends ScoreOptions {
  /** Also compute the score of X against Y - X (same d_model only). */
  residual?: boolean;
  /** Rows read per chunk, default 4096. */
  rows?: number;
}

/** Column means of a float64 source in float64, [d_model]. */
function columnMeans64(src: RowSource, step: number): Float64Array {
  const d = src.dModel, m = new Float64Array(d);
  for (let s = 0; s < src.rows; s += step) {
    const v = src.read64!(s, Math.min(src.rows, s + step));
    for (let k = 0; k < v.length; k++) {
      // Named here, before a NaN mean turns its whole column into NaN (reported as out of range).
      if (!Number.isFinite(v[k])) throw new Error(`${src.file}: has ${v[k]} at row ${s + Math.floor(k / d)}, column ${k % d}`);
      if (Math.abs(v[k]) > FLOAT32_MAX) {
        throw new Error(`${src.file}: value ${v[k]} at row ${s + Math.floor(k / d)}, column ${k % d} does not fit in float32 (largest ${FLOAT32_MAX.toPrecision(2)})`);
      }
      m[k % d] += v[k];
    }
  }
  for (let c = 0; c < d; c++) m[c] /= src.rows;
  return m;
}

/** Open a matrix file by extension (.npy or .safetensors). */
export function openMatrixFile(file: string): RowSource {
  if (file.endsWith(".safetensors")) return safetensorsSource(file);
  return npySource(file);
}

/**
 * Score X -> Y (and optionally X -> Y - X) for two matrix files with the same tokens. Products on
 * the native BLAS when available (both cores), else tfjs / JavaScript on one (lib/numerics/moments.ts).
 */
export async function scoreFiles(xFile: string, yFile: string, opts: ScoreFilesOptions = {}): Promise<FileScore> {
  const x = openMatrixFile(xFile);
  const y = openMatrixFile(yFile);
  if (x.rows !== y.rows) {
    throw new Error(`${xFile} has ${x.rows} tokens but ${yFile} has ${y.rows}; the rows must be the same tokens`);
  }
  if (opts.residual && x.dModel !== y.dModel) {
    throw new Error(`'residual' needs the same d_model: ${xFile} has ${x.dModel}, ${yFile} has ${y.dModel}`);
  }
  if (x.rows < 2) throw new Error(`${xFile}: needs at least 2 tokens, has ${x.rows}`);
  const acc = new LinearityAccumulator(x.dModel, y.dModel, { ...opts, fn: "scoreFiles", names: [xFile, yFile], residual: opts.residual });
  const step = opts.rows ?? 4096;
  // float64 files: centre in float64 (one extra pass for the column means) before the cast to
  // float32, so X = 1e8 + N(0, 1) keeps its spread. Scores do not depend on centring.
  const xMean = x.read64 ? columnMeans64(x, step) : undefined;
  const yMean = y.read64 ? columnMeans64(y, step) : undefined;
  const read = (src: RowSource, mean: Float64Array | undefined, s: number, e: number): Float32Array => {
    if (!mean || !src.read64) return src.read(s, e);
    const v = src.read64(s, e), d = src.dModel;
    const out = Float32Array.from(v, (val, k) => val - mean[k % d]);
    for (let k = 0; k < out.length; k++) {
      // A finite value that stays beyond float32's range after centring cannot be scored in float32.
      if (!Number.isFinite(out[k]) && Number.isFinite(v[k])) {
        throw new Error(`${src.file}: row ${s + Math.floor(k / d)}, column ${k % d} is ${v[k]}, beyond float32's range (${FLOAT32_MAX.toPrecision(2)}) even after centring`);
      }
    }
    return out;
  };
  for (let start = 0; start < x.rows; start += step) {
    const end = Math.min(x.rows, start + step);
    acc.add(read(x, xMean, start, end), read(y, yMean, start, end));
  }
  const r = acc.result();
  if (opts.residual && !Number.isFinite(r.residualScore)) {
    throw new Error(`${yFile} - ${xFile} has no variance beyond float32 rounding (Y = X + constant); the residual score is undefined`);
  }
  return {
    score: r.score,
    ...(opts.residual ? { residualScore: r.residualScore } : {}),
    nTokens: r.nTokens,
    dModelX: x.dModel,
    dModelY: y.dModel,
    dtypeX: x.dtype,
    dtypeY: y.dtype,
    rank: r.rank,
    route: r.route,
    native: r.native,
    conditionEstimate: r.conditionEstimate,
  };
}
