/**
 * The per-block numbers the selection rules read (select.ts), streamed over chunks of
 * residual-stream states: memory O(n_layers d_model^2) for the linearity sums plus one row per
 * sequence and state for the last-token angles, whatever the number of tokens.
 */
import { CosineAccumulator } from "../metrics/cosine";
import { LinearityAccumulator, type ScoreOptions } from "../metrics/linearity-accumulator";
import type { BlockStats } from "./select";

/**
 * Streaming {@link BlockStats}. Feed chunks of whole sequences: `resid[l]` is [rows, d_model]
 * row-major for residual index l = 0..n_layers (l < n_layers: the input of block l;
 * n_layers: the last block's output before the final norm), rows = sum of `sampleLengths`.
 */
export class BlockStatsAccumulator {
  private readonly linearity: LinearityAccumulator[];
  private readonly cosine: CosineAccumulator[];
  /** Last-token rows per residual index, one Float32Array [d_model] per sequence. */
  private readonly lastRows: Float32Array[][];

  constructor(readonly nLayers: number, readonly dModel: number, opts: ScoreOptions = {}) {
    this.linearity = Array.from({ length: nLayers }, (_, l) =>
      new LinearityAccumulator(dModel, dModel, { ...opts, fn: "blockStats", names: [`resid_pre ${l}`, `resid_post ${l}`] }));
    this.cosine = Array.from({ length: nLayers }, () => new CosineAccumulator(dModel, {}, "blockStats"));
    this.lastRows = Array.from({ length: nLayers + 1 }, () => []);
  }

  /** Tokens seen so far. */
  get tokens(): number {
    return this.cosine[0]?.rows ?? 0;
  }

  /** Sequences seen so far. */
  get sequences(): number {
    return this.lastRows[0].length;
  }

  /** Add one chunk of whole sequences (see the class comment). */
  add(resid: readonly Float32Array[], sampleLengths: readonly number[]): void {
    const n = this.nLayers, d = this.dModel;
    if (resid.length !== n + 1) throw new Error(`blockStats: expected ${n + 1} residual states, got ${resid.length}`);
    const rows = sampleLengths.reduce((a, b) => a + b, 0);
    resid.forEach((r, l) => {
      if (r.length !== rows * d) throw new Error(`blockStats: residual ${l} has ${r.length} values, expected ${rows} x ${d}`);
    });
    // A non-finite state is named by the block that produced it (the accumulators would say 'y').
    resid.forEach((r, l) => {
      const k = r.findIndex((v) => !Number.isFinite(v));
      if (k >= 0) {
        const where = l === 0 ? "the embedding output (residual 0)" : `the output of block ${l - 1} (residual ${l})`;
        throw new Error(`${where} has ${r[k]} at token ${this.tokens + Math.floor(k / d)}, column ${k % d} of the calibration text; the model computes non-finite values`);
      }
    });
    // Block l maps residual l to residual l + 1: its linearity and its input/output cosine.
    for (let l = 0; l < n; l++) {
      this.linearity[l].add(resid[l], resid[l + 1]);
      this.cosine[l].add(resid[l], resid[l + 1]);
    }
    // Keep the last token of each sequence for the angular distances of runs.
    let end = 0;
    for (const len of sampleLengths) {
      end += len;
      for (let l = 0; l <= n; l++) this.lastRows[l].push(resid[l].slice((end - 1) * d, end * d));
    }
  }

  /** The statistics of everything added. */
  result(): BlockStats {
    const n = this.nLayers, d = this.dModel;
    if (this.tokens === 0) throw new Error("blockStats: no tokens were added");
    const linearity = this.linearity.map((acc) => acc.result().score);
    const blockInfluence = this.cosine.map((acc) => 1 - acc.meanCosine);
    const angular = Array.from({ length: n + 1 }, () => new Array<number>(n + 1).fill(NaN));
    for (let s = 0; s <= n; s++) {
      for (let t = s + 1; t <= n; t++) {
        const acc = new CosineAccumulator(d, {}, "blockStats");
        for (let q = 0; q < this.sequences; q++) acc.add(this.lastRows[s][q], this.lastRows[t][q]);
        angular[s][t] = acc.meanAngularDistance;
      }
    }
    return { linearity, blockInfluence, angular };
  }
}
