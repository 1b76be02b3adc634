/**
 * The shipped hidden states (data-samples/hidden-states: 7 states x 128, float16 on disk, so
 * exactly float32): every pair i < j, plain and without the residual, against the float64
 * QR + SVD reference of test/numerics/reference64.ts, on the first 2,000 tokens (the reference's
 * plain-JavaScript QR keeps the test to seconds). State 0 (embeddings + positions) is rank-
 * deficient after centring, so it exercises the rcond cut on real data.
 */
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset";
import { linearityMatrix } from "../../lib/metrics";
import { difference, lsqReferences } from "../numerics/reference64";

const TOKENS = 2000;
/** The cut the shipped figures were computed with (the default before the precision cut): the new default must not move them by more than 1e-6. */
const SHIPPED_RCOND = 1e-5;

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("shipped data-samples states: 21 pairs, plain and residual, within 1e-6 of float64", () => {
  it("the default (precision cut) gives the scores of the shipped rcond 1e-5 within 1e-6, every pair", () => {
    const ds = HiddenStateDataset.open(path.resolve(__dirname, "../../data-samples/hidden-states"));
    const S = ds.nStates, d = ds.dModel;
    const chunks = [...ds.chunks({ rows: 1000, end: TOKENS })];
    const m = linearityMatrix(chunks, { residual: true });
    const states = Array.from({ length: S }, (_, s) => {
      const v = new Float64Array(TOKENS * d);
      let o = 0;
      for (const c of chunks) {
        v.set(c.states[s], o);
        o += c.states[s].length;
      }
      return v;
    });
    let worst = 0;
    for (let i = 0; i < S - 1; i++) {
      const ys: Float64Array[] = [];
      for (let j = i + 1; j < S; j++) ys.push(states[j], difference(states[j], states[i]));
      const refs = lsqReferences(states[i], ys, TOKENS, d, d, SHIPPED_RCOND);
      if (m.ranks[i] !== refs[0].rank) console.log(`state ${i}: rank ${m.ranks[i]} (precision cut) against ${refs[0].rank} (rcond 1e-5)`);
      for (let j = i + 1; j < S; j++) {
        const plain = refs[2 * (j - i - 1)], resid = refs[2 * (j - i - 1) + 1];
        worst = Math.max(worst, Math.abs(m.scores[i][j] - plain.score), Math.abs(m.residualScores![i][j] - resid.score));
        expect(Math.abs(m.scores[i][j] - plain.score)).toBeLessThan(1e-6);
        expect(Math.abs(m.residualScores![i][j] - resid.score)).toBeLessThan(1e-6);
      }
    }
    console.log(`worst |default - rcond 1e-5 reference| over 42 scores: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
  });
});
