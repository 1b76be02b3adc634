/**
 * Linearity scores for every pair of states i < j in one pass over the data.
 *
 * Per block of rows it forms X_i^T X_i for each state used as a source and X_i^T X_j for every
 * i < j (90 products of [d, rows] x [rows, d] for 13 states), accumulated in float64: exact float64
 * products on the native BLAS, else float32 tfjs matmuls or float64 JavaScript per source state
 * (lib/numerics/gram-accumulator.ts). Separate per-pair products measured faster on wasm than one
 * [rows, S*d] concatenated product (27 vs 15-20 GFLOP/s here) and exploit symmetry.
 */
import { type GramDifference, GramAccumulator } from "../numerics/gram-accumulator";
import { type CutReport, explainedSumSquares } from "../numerics/solve";
import type { StateChunk } from "../numerics/state-chunk";
import { ScoreOptions, clampScore, routeOption } from "./linearity-accumulator";

/** Options of {@link linearityMatrix}. */
export interface LinearityMatrixOptions extends ScoreOptions {
  /** Also compute the "w/o residual" score of X_i against X_j - X_i (default false). */
  residual?: boolean;
  /** Called after each chunk with the number of rows seen (for a progress bar). */
  onProgress?: (rowsDone: number) => void;
}

/** All-pairs result. Matrices are [nStates][nStates]; entry [i][j] for i < j, NaN on and below the diagonal. */
export interface LinearityMatrix {
  scores: number[][];
  residualScores?: number[][];
  nTokens: number;
  /** Numerical rank of each centred state used as a source (last state: NaN, never a source). */
  ranks: number[];
  /** What the cut removed from each source state (last state: undefined). */
  cuts: (CutReport | undefined)[];
  /** Chance floor rank_i / (n - 1) of each source state (last state: NaN): the expected score of an independent Gaussian target. */
  floors: number[];
  /** Adjusted scores 1 - (1 - score)(n - 1)/(n - rank_i - 1), [i][j] for i < j (NaN elsewhere). */
  adjusted: number[][];
  /** The same for the residual scores, with option `residual`. */
  residualAdjusted?: number[][];
  /** Per state: how its products were formed as a source ("auto" decides per source state; the last state, never a source: "float32"). */
  routes: ("float32" | "float64")[];
}

/** Key of state s in the accumulator. */
const stateKey = (s: number): string => `state ${s}`;
/** Key of the derived state X_j - X_i. */
const diffKey = (i: number, j: number): string => `state ${j} - state ${i}`;

/** Streaming accumulator behind {@link linearityMatrix}; use it directly for async sources (`for await`, then `add`). */
export class LinearityMatrixAccumulator {
  private readonly acc: GramAccumulator;

  constructor(
    readonly nStates: number,
    readonly dModel: number,
    private readonly opts: LinearityMatrixOptions = {},
  ) {
    if (!(Number.isInteger(nStates) && nStates >= 2)) {
      throw new Error(`linearityMatrix: expected at least 2 states per chunk, got ${nStates}`);
    }
    const products: [string, string][] = [];
    const differences: GramDifference[] = [];
    for (let i = 0; i < nStates - 1; i++) {
      for (let j = i; j < nStates; j++) products.push([stateKey(i), stateKey(j)]);
      if (!opts.residual) continue;
      // X_i^T (X_j - X_i) as its own product: the residual score needs no cancelling subtraction.
      for (let j = i + 1; j < nStates; j++) {
        products.push([stateKey(i), diffKey(i, j)]);
        differences.push({ key: diffKey(i, j), from: stateKey(i), to: stateKey(j) });
      }
    }
    this.acc = new GramAccumulator({
      fn: "linearityMatrix",
      states: Array.from({ length: nStates }, (_, s) => ({ key: stateKey(s), name: `states[${s}]`, dim: dModel, route: s < nStates - 1 ? routeOption(opts) : "float32" })),
      differences,
      products,
      blockRows: opts.blockRows,
      native: opts.native,
    });
  }

  /** Add one chunk: states[s] is [rows, d_model] float32 for every state s. */
  add(states: readonly Float32Array[]): void {
    this.acc.add(states);
  }

  get nTokens(): number {
    return this.acc.rows;
  }

  /** Solve every pair (float64, about 0.1 s per pair at d_model = 768). */
  result(): LinearityMatrix {
    const S = this.nStates, d = this.dModel, acc = this.acc;
    const nan = () => Array.from({ length: S }, () => new Array<number>(S).fill(NaN));
    const scores = nan();
    const residualScores = this.opts.residual ? nan() : undefined;
    const ranks = new Array<number>(S).fill(NaN);
    const cuts = new Array<CutReport | undefined>(S).fill(undefined);
    const yy = Array.from({ length: S }, (_, s) => acc.centeredSumSquares(stateKey(s)));
    for (let s = 0; s < S; s++) {
      if (!(yy[s] > 0)) throw new Error(`linearityMatrix: 'states[${s}]' has no variance (every row is the same); scores against it are undefined`);
    }
    for (let i = 0; i < S - 1; i++) {
      const f = acc.factor(stateKey(i), { rcond: this.opts.rcond, storage: this.opts.storage });
      ranks[i] = f.rank;
      cuts[i] = f.cut;
      for (let j = i + 1; j < S; j++) {
        scores[i][j] = clampScore(explainedSumSquares(f, acc.centered(stateKey(i), stateKey(j)), d) / yy[j]);
        if (residualScores) {
          const dd = acc.centeredSumSquares(diffKey(i, j));
          residualScores[i][j] = dd > 1e-12 * yy[j] ? clampScore(explainedSumSquares(f, acc.centered(stateKey(i), diffKey(i, j)), d) / dd) : NaN;
        }
      }
    }
    const routes = Array.from({ length: S }, (_, s) => (s < S - 1 ? acc.route(stateKey(s)) : "float32"));
    const n = acc.rows;
    const floors = ranks.map((r) => (Number.isNaN(r) ? NaN : Math.min(1, r / (n - 1))));
    const adjust = (m: number[][]) => m.map((row, i) => row.map((v) => (n - ranks[i] - 1 > 0 ? 1 - ((1 - v) * (n - 1)) / (n - ranks[i] - 1) : NaN)));
    return { scores, residualScores, nTokens: n, ranks, cuts, floors, adjusted: adjust(scores), residualAdjusted: residualScores && adjust(residualScores), routes };
  }
}

/**
 * Scores for all pairs of states i < j (X_i -> X_j), in ONE pass over `chunks` (e.g.
 * `dataset.chunks()`); memory O(nStates^2 d_model^2) float64 (13 states x 768: 90 blocks,
 * 425 MB), independent of the number of tokens. Entries on and below the diagonal are NaN.
 */
export function linearityMatrix(chunks: Iterable<StateChunk>, opts: LinearityMatrixOptions = {}): LinearityMatrix {
  let acc: LinearityMatrixAccumulator | undefined;
  for (const chunk of chunks) {
    if (chunk.rows === 0) continue;
    acc = checkedChunk(acc, chunk, opts);
    acc.add(chunk.states);
    opts.onProgress?.(acc.nTokens);
  }
  if (acc === undefined) throw new Error("linearityMatrix: 'chunks' yielded no rows");
  return acc.result();
}

/** Validate a chunk (against the first one); the accumulator is created on the first chunk. */
function checkedChunk(acc: LinearityMatrixAccumulator | undefined, chunk: StateChunk, opts: LinearityMatrixOptions): LinearityMatrixAccumulator {
  if (acc === undefined) {
    const S = chunk.states.length;
    if (S < 2) throw new Error(`linearityMatrix: expected at least 2 states per chunk, got ${S}`);
    const d = chunk.rows > 0 ? chunk.states[0].length / chunk.rows : NaN;
    if (!Number.isInteger(d) || d <= 0) {
      throw new Error(`linearityMatrix: 'states[0]' expected shape [rows=${chunk.rows}, d_model], got ${chunk.states[0].length} values`);
    }
    acc = new LinearityMatrixAccumulator(S, d, opts);
  }
  if (chunk.states.length !== acc.nStates) {
    throw new Error(`linearityMatrix: expected ${acc.nStates} states per chunk (as in the first), got ${chunk.states.length}`);
  }
  for (let s = 0; s < acc.nStates; s++) {
    if (chunk.states[s].length !== chunk.rows * acc.dModel) {
      throw new Error(`linearityMatrix: 'states[${s}]' expected shape [rows=${chunk.rows}, d_model=${acc.dModel}], got ${chunk.states[s].length} values`);
    }
  }
  return acc;
}
