/**
 * Sublayer linearity against the float64 reference forwards (test/models/reference, which report
 * every block's resid_pre / resid_mid / resid_post) scored with the Jacobi-SVD formula of
 * test/numerics: attention, MLP and whole-block scores, with and without the residual.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { sublayerLinearity } from "../../lib/interventions/sublayers";
import { loadModel } from "../../lib/models/load";
import { tinyCheckpoints } from "../models/helpers";
import { readCheckpoint, type RefCheckpoint, type RefOutput, type Rows } from "../models/reference/common";
import { gpt2Reference } from "../models/reference/gpt2";
import { llamaReference } from "../models/reference/llama";
import { refScore, type Mat } from "../numerics/reference";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

describe("sublayerLinearity against float64 references", () => {
  const cases: [string, (c: RefCheckpoint, ids: number[]) => RefOutput][] = [["llama-gqa", llamaReference], ["gpt2", gpt2Reference]];
  for (const [variant, reference] of cases) {
    it(`${variant}: attention, MLP and block scores within 1e-4`, () => {
      // 5 sequences of 24 tokens: 120 rows for d_model 32.
      const seqLen = 24, sequences = 5;
      const rows = Array.from({ length: sequences }, (_, s) => Array.from({ length: seqLen }, (_, p) => (7 * s + 13 * p + ((s * p) % 5)) % 60));
      const model = loadModel(ck.dirs[variant]);
      const got = sublayerLinearity(model, { ids: Int32Array.from(rows.flat()), sequences, seqLen }, 2);
      model.dispose();
      expect(got.tokens).toBe(sequences * seqLen);
      const refCk = readCheckpoint(ck.dirs[variant]);
      const refs = rows.map((r) => reference(refCk, r));
      const cat = (pick: (o: RefOutput) => Rows): Mat => refs.flatMap((o) => pick(o).map((row) => Array.from(row)));
      const minus = (y: Mat, x: Mat): Mat => y.map((r, i) => r.map((v, j) => v - x[i][j]));
      for (let l = 0; l < refCk.config[variant === "gpt2" ? "n_layer" : "num_hidden_layers"]; l++) {
        const pre = cat((o) => o.blocks[l].resid_pre), mid = cat((o) => o.blocks[l].resid_mid!), post = cat((o) => o.blocks[l].resid_post);
        expect(Math.abs(got.attention[l] - refScore(pre, mid))).toBeLessThan(1e-4);
        expect(Math.abs(got.mlp[l] - refScore(mid, post))).toBeLessThan(1e-4);
        expect(Math.abs(got.block[l] - refScore(pre, post))).toBeLessThan(1e-4);
        expect(Math.abs(got.attentionResidual[l] - refScore(pre, minus(mid, pre)))).toBeLessThan(1e-4);
        expect(Math.abs(got.mlpResidual[l] - refScore(mid, minus(post, mid)))).toBeLessThan(1e-4);
      }
      // Not vacuous: a random block is far from linear without its residual.
      expect(Math.min(...got.blockResidual)).toBeLessThan(0.99);
    });
  }
});
