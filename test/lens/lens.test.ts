/**
 * The logit lens against a float64 reference: the reference forward passes of test/models
 * (plain loops, written from the maths) give every hidden state; a readout written here from the
 * HF weight names (final norm, then the unembedding) gives each state's logits, and the loss is
 * computed in float64. Plus the identity the issue asks for: the last state's lens loss is the
 * model's own loss.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { lensSequences, loadLensModel, summarizeLens } from "../../lib/lens/lens";
import { tinyCheckpoints } from "../models/helpers";
import {
  layerNormRows, linearOutIn, logitsRows, readCheckpoint, rmsNormRows, weight,
  type RefCheckpoint, type RefOutput, type Rows,
} from "../models/reference/common";
import { gpt2Reference } from "../models/reference/gpt2";
import { llamaReference } from "../models/reference/llama";
import { optReference } from "../models/reference/opt";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

/** Reference readout of a non-final state: final norm then unembedding, from HF names. */
type RefReadout = (ck: RefCheckpoint, h: Rows) => Rows;

const llamaReadout: RefReadout = (c, h) => {
  const normed = rmsNormRows(h, weight(c, "model.norm.weight"), c.config.rms_norm_eps);
  return logitsRows(normed, c.config.tie_word_embeddings ? weight(c, "model.embed_tokens.weight") : weight(c, "lm_head.weight"));
};
const gpt2Readout: RefReadout = (c, h) => {
  const w = (n: string) => weight(c, n, `transformer.${n}`);
  return logitsRows(layerNormRows(h, w("ln_f.weight"), w("ln_f.bias"), c.config.layer_norm_epsilon), w("wte.weight"));
};
const optReadout: RefReadout = (c, h) => {
  const w = (n: string) => weight(c, `model.decoder.${n}`, `decoder.${n}`);
  const has = (n: string) => c.tensors.has(`model.decoder.${n}`) || c.tensors.has(`decoder.${n}`);
  const normed = has("final_layer_norm.weight") ? layerNormRows(h, w("final_layer_norm.weight"), w("final_layer_norm.bias"), 1e-5) : h;
  const out = has("project_out.weight") ? linearOutIn(normed, w("project_out.weight")) : normed;
  return logitsRows(out, w("embed_tokens.weight"));
};

const VARIANTS: [string, (c: RefCheckpoint, ids: number[]) => RefOutput, RefReadout][] = [
  ["llama-gqa", llamaReference, llamaReadout],
  ["llama-tied", llamaReference, llamaReadout],
  ["gpt2", gpt2Reference, gpt2Readout],
  ["opt", optReference, optReadout],
  ["opt-350m-style", optReference, optReadout],
];

/** float64 next-token losses of logits rows against ids. */
function refLosses(logits: Rows, ids: number[]): { loss: number[]; argmax: number[]; margin: number[] } {
  const loss: number[] = [], argmax: number[] = [], margin: number[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = Array.from(logits[t]);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    loss.push(lse - row[ids[t + 1]]);
    const sorted = [...row].sort((a, b) => b - a);
    argmax.push(row.indexOf(max));
    margin.push(sorted[0] - sorted[1]);
  }
  return { loss, argmax, margin };
}

describe("logit lens", () => {
  for (const [variant, reference, readout] of VARIANTS) {
    it(`${variant}: every state's per-token loss and top-1 match the float64 reference; the last state's loss is the model's`, async () => {
      const dir = ck.dirs[variant];
      const refCk = readCheckpoint(dir);
      const model = loadLensModel(dir);
      const seqs = [Int32Array.from([3, 17, 5, 9, 2, 11, 40]), Int32Array.from([8, 1, 1, 30, 7, 19, 4]), Int32Array.from([5, 6, 7])];
      const got = await lensSequences(model, seqs, 2);
      model.dispose();
      let worst = 0, checkedHits = 0;
      seqs.forEach((seq, i) => {
        const ids = Array.from(seq);
        const ref = reference(refCk, ids);
        const S = ref.states.length;
        expect(got[i].loss.length).toBe(S);
        for (let s = 0; s < S; s++) {
          // The last state is already after the final norm: the model's own logits.
          const logits = s === S - 1 ? ref.logits : readout(refCk, ref.states[s]);
          const r = refLosses(logits, ids);
          r.loss.forEach((v, t) => (worst = Math.max(worst, Math.abs(got[i].loss[s][t] - v))));
          r.argmax.forEach((a, t) => {
            if (r.margin[t] > 1e-3) {
              expect(got[i].hit[s][t]).toBe(a === ids[t + 1] ? 1 : 0);
              checkedHits++;
            }
          });
        }
        // The lens at the last state is exactly the model's own loss.
        got[i].modelLoss.forEach((v, t) => expect(Math.abs(got[i].loss[S - 1][t] - v)).toBeLessThan(1e-6));
      });
      expect(worst).toBeLessThan(1e-4);
      expect(checkedHits).toBeGreaterThan(30);
      const summary = summarizeLens(got);
      expect(summary.positions).toBe(6 + 6 + 2);
      expect(Math.abs(summary.loss[summary.loss.length - 1] - summary.modelLoss)).toBeLessThan(1e-6);
    });
  }

  it("on the shipped model, the last state's loss is the model's loss and the lens improves with depth", async () => {
    const model = loadLensModel(path.join(__dirname, "..", "..", "data-samples", "model"));
    const text = "The jury said it did find that many of the registration and election laws were outmoded.";
    const ids = Int32Array.from([256, ...Buffer.from(text)]);
    const [r] = await lensSequences(model, [ids]);
    model.dispose();
    const s = summarizeLens([r]);
    expect(Math.abs(s.loss[6] - s.modelLoss)).toBeLessThan(1e-6);
    expect(s.loss[6]).toBeLessThan(s.loss[0]);
  });
});
