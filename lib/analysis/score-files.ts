/**
 * The linearity score of two [tokens, d_model] matrices stored in files (.npy, or .safetensors
 * holding one tensor), streamed in chunks so neither file is loaded whole.
 */
import { npySource, safetensorsSource, type RowSource } from "../dataset/sources";
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
  /** Numerical rank of the centred X. */
  rank: number;
}

/** Options of {@link scoreFiles}. */
export interface ScoreFilesOptions extends ScoreOptions {
  /** Also compute the score of X against Y - X (same d_model only). */
  residual?: boolean;
  /** Rows read per chunk, default 4096. */
  rows?: number;
}

/** Open a matrix file by extension (.npy or .safetensors). */
export function openMatrixFile(file: string): RowSource {
  if (file.endsWith(".safetensors")) return safetensorsSource(file);
  return npySource(file);
}

/**
 * Score X -> Y (and optionally X -> Y - X) for two matrix files with the same tokens. The float32
 * products run on worker threads when asked (option `workers`, env
 * LINEARITY_WORKERS; 0 or 1 = in-thread).
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
  const acc = new LinearityAccumulator(x.dModel, y.dModel, { ...opts, fn: "score", names: [xFile, yFile] });
  const step = opts.rows ?? 4096;
  let r;
  try {
    for (let start = 0; start < x.rows; start += step) {
      const end = Math.min(x.rows, start + step);
      await acc.addAsync(x.read(start, end), y.read(start, end));
    }
    r = await acc.resultAsync();
  } finally {
    await acc.dispose();
  }
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
  };
}
