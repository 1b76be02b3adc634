/**
 * The three selection rules on hand-made numbers, and the per-block statistics they read against
 * float64 loops written here (linearity through the Jacobi-SVD reference of test/numerics).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { BlockStatsAccumulator } from "../../lib/interventions/block-stats";
import { bestContiguousRun, indicesOfLargest, indicesOfSmallest, selectBlocks, type BlockStats } from "../../lib/interventions/select";
import { asFloat32, flat, gaussianMatrix, matmul, refScore, type Mat } from "../numerics/reference";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const close = (a: number, b: number, tol: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

describe("selection rules", () => {
  const nan = NaN;
  // 4 blocks; angular[s][t] for residual indices 0..4.
  const stats: BlockStats = {
    linearity: [0.91, 0.97, 0.95, 0.6],
    blockInfluence: [0.30, 0.05, 0.02, 0.4],
    angular: [
      [nan, 0.20, 0.25, 0.30, 0.40],
      [nan, nan, 0.08, 0.12, 0.35],
      [nan, nan, nan, 0.10, 0.33],
      [nan, nan, nan, nan, 0.31],
      [nan, nan, nan, nan, nan],
    ],
  };

  it("linearity picks the highest scores, bi the lowest influence, both ascending", () => {
    expect(selectBlocks("linearity", stats, 1).blocks).toEqual([1]);
    expect(selectBlocks("linearity", stats, 2).blocks).toEqual([1, 2]);
    expect(selectBlocks("linearity", stats, 3).blocks).toEqual([0, 1, 2]);
    expect(selectBlocks("linearity", stats, 2).scores).toEqual([0.97, 0.95]);
    expect(selectBlocks("bi", stats, 1).blocks).toEqual([2]);
    expect(selectBlocks("bi", stats, 3).blocks).toEqual([0, 1, 2]);
    expect(selectBlocks("bi", stats, 2).scores).toEqual([0.05, 0.02]);
  });

  it("angular picks the contiguous run whose input and output are closest", () => {
    // K = 1: runs (0->1) 0.20, (1->2) 0.08, (2->3) 0.10, (3->4) 0.31 -> block 1.
    expect(selectBlocks("angular", stats, 1).blocks).toEqual([1]);
    // K = 2: (0->2) 0.25, (1->3) 0.12, (2->4) 0.33 -> blocks 1, 2.
    expect(selectBlocks("angular", stats, 2).blocks).toEqual([1, 2]);
    expect(selectBlocks("angular", stats, 2).scores).toEqual([0.12, 0.12]);
    // K = 3: (0->3) 0.30, (1->4) 0.35 -> blocks 0..2.
    expect(selectBlocks("angular", stats, 3).blocks).toEqual([0, 1, 2]);
    expect(selectBlocks("angular", stats, 4).blocks).toEqual([0, 1, 2, 3]);
    expect(bestContiguousRun(stats.angular, 3)).toBe(0);
  });

  it("ties go to the lower index", () => {
    expect(indicesOfLargest([0.5, 0.7, 0.7, 0.7], 2)).toEqual([1, 2]);
    expect(indicesOfSmallest([0.2, 0.1, 0.1, 0.1], 2)).toEqual([1, 2]);
    expect(bestContiguousRun([[nan, 0.1, nan], [nan, nan, 0.1], [nan, nan, nan]], 1)).toBe(0);
  });

  it("refuses a count outside 1..n_layers and non-finite scores", () => {
    expect(() => selectBlocks("linearity", stats, 0)).toThrow("--blocks must be an integer from 1 to 4");
    expect(() => selectBlocks("bi", stats, 5)).toThrow("--blocks must be an integer from 1 to 4");
    expect(() => selectBlocks("angular", stats, 1.5)).toThrow("--blocks");
    expect(() => indicesOfLargest([0.1, NaN], 1)).toThrow("score of block 1 is NaN");
    expect(() => selectBlocks("nope" as never, stats, 1)).toThrow("--select must be one of linearity, angular, bi");
  });
});

describe("BlockStatsAccumulator against float64 loops", () => {
  // 3 blocks, d_model 5, three sequences of 30, 41 and 25 tokens, streamed as two chunks.
  const d = 5, lengths = [30, 41, 25], n = 3;
  const rows = lengths.reduce((a, b) => a + b, 0);
  // Residual stream: x_{l+1} = x_l M_l + noise, the blocks increasingly nonlinear through a tanh.
  const resid: Mat[] = [asFloat32(gaussianMatrix(rows, d, 11))];
  for (let l = 0; l < n; l++) {
    const M = gaussianMatrix(d, d, 20 + l).map((r, i) => r.map((v, j) => (i === j ? 1 : 0) + 0.3 * v));
    const lin = matmul(resid[l], M);
    resid.push(asFloat32(lin.map((r) => r.map((v) => v + (l * 0.5) * Math.tanh(3 * v)))));
  }

  it("linearity, block influence and last-token angular distances", () => {
    const acc = new BlockStatsAccumulator(n, d);
    // Chunk 1: the first sequence; chunk 2: the other two.
    const cut = lengths[0];
    acc.add(resid.map((m) => flat(m.slice(0, cut))), [lengths[0]]);
    acc.add(resid.map((m) => flat(m.slice(cut))), lengths.slice(1));
    expect(acc.tokens).toBe(rows);
    expect(acc.sequences).toBe(3);
    const got = acc.result();

    for (let l = 0; l < n; l++) {
      // Linearity: the original's SVD formula in float64.
      close(got.linearity[l], refScore(resid[l], resid[l + 1]), 1e-5);
      // Block influence: 1 - mean cosine of matching rows.
      let cos = 0;
      for (let t = 0; t < rows; t++) cos += cosine(resid[l][t], resid[l + 1][t]) / rows;
      close(got.blockInfluence[l], 1 - cos, 1e-9);
    }
    // The blocks get less linear by construction (sanity: the data is not degenerate).
    expect(got.linearity[0]).toBeGreaterThan(0.999);
    expect(got.linearity[2]).toBeLessThan(got.linearity[0] - 1e-3);

    const lastRows = [lengths[0] - 1, lengths[0] + lengths[1] - 1, rows - 1];
    for (let s = 0; s <= n; s++) {
      for (let t = 0; t <= n; t++) {
        if (t <= s) {
          expect(Number.isNaN(got.angular[s][t])).toBe(true);
          continue;
        }
        const ref = lastRows.reduce((a, r) => a + Math.acos(Math.max(-1, Math.min(1, cosine(resid[s][r], resid[t][r])))) / Math.PI, 0) / 3;
        close(got.angular[s][t], ref, 1e-9);
      }
    }
  });

  it("refuses a wrong number of states or rows", () => {
    const acc = new BlockStatsAccumulator(n, d);
    expect(() => acc.add(resid.slice(1).map((m) => flat(m)), lengths)).toThrow("expected 4 residual states, got 3");
    expect(() => acc.add(resid.map((m) => flat(m)), [rows - 1])).toThrow("residual 0 has");
    expect(() => acc.result()).toThrow("no tokens");
  });
});

function cosine(a: number[], b: number[]): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}
