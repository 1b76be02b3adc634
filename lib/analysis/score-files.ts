/**
 * The linearity score of two [tokens, d_model] matrices stored in files (.npy, or .safetensors
 * holding one tensor), streamed in chunks so neither file is loaded whole.
 */
import { npySource, safetensorsSource, type RowSource } from "../dataset/sources";
import { readNpy } from "../io/npy";
import { centredToFloat32, floatColumnMeans64 } from "../numerics/precentre";
import { LinearityAccumulator, type ScoreOptions } from "../metrics/linearity-accumulator";
import { type LinearityStats, pairStats } from "../metrics/linearity-stats";
import { type StorageDtype, storageDtypeOf } from "../numerics/cut";
import { MomentAccumulator } from "../numerics/moment-accumulator";
import { needsQr, qrRescore } from "../numerics/qr-fit";
import type { UnitRule } from "../numerics/moment-set";
import type { CutReport } from "../numerics/solve";

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
  /** Numerical rank of the centred X under the cut (precision cut by default, or --rcond). */
  rank: number;
  /** What the cut removed (count = d_model_x - rank). */
  cut: CutReport;
  /** rank / (n - 1): the expected score of an independent Gaussian Y. */
  floor: number;
  /** 1 - (1 - score)(n - 1)/(n - rank - 1) (of the residual score with `residual`). */
  adjusted: number;
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

/** Column means of a float64 source in float64, [d_model] (errors name the file). */
function columnMeans64(src: RowSource, step: number): Float64Array {
  return floatColumnMeans64((s, e) => src.read64!(s, e), src.rows, src.dModel, step, src.file);
}

/** Open a matrix file by extension (.npy or .safetensors). */
export function openMatrixFile(file: string): RowSource {
  if (file.endsWith(".safetensors")) return safetensorsSource(file);
  return npySource(file);
}

/** The storage type behind a file's values as the accumulators see them (float64 files are centred, then float32). */
function storageOf(src: RowSource): StorageDtype {
  return src.read64 ? "float32" : storageDtypeOf(src.dtype);
}

/** Both files opened and checked, and their rows as float32 chunks (float64 files centred in float64 first). */
function openPair(xFile: string, yFile: string, opts: { residual?: boolean; rows?: number }) {
  const x = openMatrixFile(xFile);
  const y = openMatrixFile(yFile);
  if (x.rows !== y.rows) {
    throw new Error(`${xFile} has ${x.rows} tokens but ${yFile} has ${y.rows}; the rows must be the same tokens`);
  }
  if (opts.residual && x.dModel !== y.dModel) {
    throw new Error(`'residual' needs the same d_model: ${xFile} has ${x.dModel}, ${yFile} has ${y.dModel}`);
  }
  if (x.rows < 2) throw new Error(`${xFile}: needs at least 2 tokens, has ${x.rows}`);
  const step = opts.rows ?? 4096;
  /** The chunks in order; each chunk's x and y may be overwritten by the next (reused read buffers): consume one before asking for the next. */
  function* chunks(): Generator<{ start: number; x: Float32Array; y: Float32Array }> {
    // float64 files: centre in float64 (one extra pass for the column means) before the cast to
    // float32, so X = 1e8 + N(0, 1) keeps its spread. Scores do not depend on centring.
    const xMean = x.read64 ? columnMeans64(x, step) : undefined;
    const yMean = y.read64 ? columnMeans64(y, step) : undefined;
    const read = (src: RowSource, mean: Float64Array | undefined, s: number, e: number): Float32Array =>
      !mean || !src.read64 ? (src.readReused ?? src.read)(s, e) : centredToFloat32(src.read64(s, e), mean, src.dModel, s, src.file);
    for (let start = 0; start < x.rows; start += step) {
      const end = Math.min(x.rows, start + step);
      yield { start, x: read(x, xMean, start, end), y: read(y, yMean, start, end) };
    }
  }
  return { x, y, chunks };
}

/**
 * Score X -> Y (and optionally X -> Y - X) for two matrix files with the same tokens. Products on
 * the native BLAS when available (both cores), else tfjs / JavaScript on one (lib/numerics/gram-accumulator.ts).
 */
export async function scoreFiles(xFile: string, yFile: string, opts: ScoreFilesOptions = {}): Promise<FileScore> {
  const { x, y, chunks } = openPair(xFile, yFile, opts);
  const acc = new LinearityAccumulator(x.dModel, y.dModel, { ...opts, storage: opts.storage ?? storageOf(x), fn: "scoreFiles", names: [xFile, yFile], residual: opts.residual });
  for (const c of chunks()) acc.add(c.x, c.y);
  const r = acc.result();
  if (opts.residual && !Number.isFinite(r.residualScore)) {
    throw new Error(`${yFile} - ${xFile} has no variance beyond float32 rounding (Y = X + constant); the residual score is undefined`);
  }
  // The Gram's floor decided a cut: the files are read again into a float64 QR of the data.
  if (opts.rcond === undefined && needsQr(r.cut)) {
    const f = acc.factor();
    const q = qrRescore(chunks(), x.dModel, y.dModel, { cut: r.cut, scale: f.scale, cols: f.cols, meanX: acc.mean(0), meanY: acc.mean(1) }, { storage: opts.storage ?? storageOf(x), residual: opts.residual, native: opts.native, fn: "scoreFiles" });
    Object.assign(r, { score: q.score, rank: q.rank, cut: q.cut, ...(opts.residual ? { residualScore: q.residualScore } : {}) });
    if (opts.residual && !Number.isFinite(r.residualScore)) {
      throw new Error(`${yFile} - ${xFile} has no variance beyond float32 rounding (Y = X + constant); the residual score is undefined`);
    }
  }
  const n = r.nTokens, value = opts.residual ? r.residualScore! : r.score;
  return {
    score: r.score,
    ...(opts.residual ? { residualScore: r.residualScore } : {}),
    nTokens: n,
    dModelX: x.dModel,
    dModelY: y.dModel,
    dtypeX: x.dtype,
    dtypeY: y.dtype,
    rank: r.rank,
    cut: r.cut,
    floor: Math.min(1, r.rank / (n - 1)),
    adjusted: n - r.rank - 1 > 0 ? 1 - ((1 - value) * (n - 1)) / (n - r.rank - 1) : NaN,
    route: r.route,
    native: r.native,
    conditionEstimate: r.conditionEstimate,
  };
}

/** Options of {@link scoreFileStats}. */
export interface ScoreFileStatsOptions {
  /** Score X against Y - X. */
  residual?: boolean;
  /** Explicit pinv cut instead of the precision cut. */
  rcond?: number;
  /** Rows read per chunk, default 4096. */
  rows?: number;
  /** Group (document) id of every token, int32 [tokens] .npy (e.g. from `linearity export --groups`). */
  groupsFile?: string;
  /** K of the out-of-sample score (fold = group mod K). */
  folds?: number;
  /** The leave-one-group-out jackknife. */
  jackknife?: boolean;
}

/** Most units the jackknife keeps one per group; beyond, groups are merged by id mod a multiple of the folds. */
export const MAX_JACKKNIFE_UNITS = 100;

/**
 * Score X -> Y (or X -> Y - X) of two matrix files with floor, adjusted score, and from the group
 * ids the K-fold out-of-sample score and the leave-one-group-out jackknife, all in one pass over
 * the files (per-group float64 moments, lib/numerics/moment-accumulator.ts). Units: one per group
 * for the jackknife (up to {@link MAX_JACKKNIFE_UNITS}; more groups are merged by id mod the largest
 * multiple of K below it, which `units` reports), else one per fold.
 */
export async function scoreFileStats(xFile: string, yFile: string, opts: ScoreFileStatsOptions): Promise<LinearityStats & { units: UnitRule; groups: number; dtypeX: string; dtypeY: string; dModelX: number; dModelY: number }> {
  const { x, y, chunks } = openPair(xFile, yFile, opts);
  let groups: Int32Array | undefined;
  let distinct = 1;
  if (opts.groupsFile !== undefined) {
    const g = readNpy(opts.groupsFile);
    if (g.dtype !== "int32" && g.dtype !== "int64" && g.dtype !== "uint8") throw new Error(`${opts.groupsFile}: expected integer group ids [tokens], got dtype ${g.dtype}`);
    if (g.shape.length !== 1 || g.shape[0] !== x.rows) throw new Error(`${opts.groupsFile}: expected group ids [tokens=${x.rows}], got [${g.shape.join(", ")}]`);
    groups = Int32Array.from(g.data as ArrayLike<number>, (v, t) => {
      if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${opts.groupsFile}: group id ${v} at token ${t} is not a non-negative integer`);
      return v;
    });
    distinct = new Set(groups).size;
  } else if (opts.folds !== undefined || opts.jackknife) {
    throw new Error("--folds and --jackknife need --groups G.npy (the document id of every token; 'linearity export DATASET --groups' writes it)");
  }
  const K = opts.folds;
  let unitRule: UnitRule = { kind: "one" };
  if (groups !== undefined) {
    if (opts.jackknife) {
      const cap = K === undefined ? MAX_JACKKNIFE_UNITS : Math.floor(MAX_JACKKNIFE_UNITS / K) * K;
      unitRule = distinct <= cap && Math.max(...groups) < 2 ** 31 ? { kind: "group", groupsFrom: opts.groupsFile } : { kind: "group mod", modulus: cap, groupsFrom: opts.groupsFile };
    } else if (K !== undefined) unitRule = { kind: "group mod", modulus: K, groupsFrom: opts.groupsFile };
  }
  const acc = new MomentAccumulator({
    fn: "scoreFiles",
    states: [{ name: xFile, dim: x.dModel, dtype: storageOf(x) }, { name: yFile, dim: y.dModel, dtype: storageOf(y) }],
    products: [[0, 0], [0, 1]],
    unitRule,
  });
  for (const c of chunks()) acc.add([c.x, c.y], groups?.subarray(c.start, c.start + c.x.length / x.dModel));
  const set = acc.result();
  const stats = pairStats(set, 0, 1, { residual: opts.residual, rcond: opts.rcond, folds: K, jackknife: opts.jackknife, fn: "scoreFiles" });
  return { ...stats, units: set.unitRule, groups: distinct, dtypeX: x.dtype, dtypeY: y.dtype, dModelX: x.dModel, dModelY: y.dModel };
}
