/**
 * tokenMaps on the shipped model: norms and lens losses against direct computations, and the
 * per-token nonlinearity against a float64 normal-equations reference fitted on the same tokens.
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { tokenMaps } from "../../lib/analysis/token-maps";
import { HiddenStateDataset } from "../../lib/dataset";
import { lensSequences, loadLensModel } from "../../lib/lens/lens";
import { loadTokenizer } from "../../lib/tokenizer";

const ROOT = path.join(__dirname, "..", "..", "data-samples");

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Solve the symmetric system G A = B ([d, d] and [d, m]) by Gaussian elimination with partial pivoting, float64. */
function solve(G: number[][], B: number[][]): number[][] {
  const d = G.length;
  const a = G.map((r, i) => [...r, ...B[i]]);
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      if (f !== 0) for (let k = c; k < a[r].length; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((r, i) => r.slice(d).map((v) => v / a[i][i]));
}

describe("tokenMaps", () => {
  it("gives per-token norms, lens losses and nonlinearity matching independent computations", async () => {
    const model = loadLensModel(path.join(ROOT, "model"));
    const tokenizer = loadTokenizer(path.join(ROOT, "model"), model.config);
    const ds = HiddenStateDataset.open(path.join(ROOT, "hidden-states"));
    const text = "The jury praised the city.";
    const fitTokens = 400;
    const maps = await tokenMaps(model, tokenizer, text, { fit: ds, fitTokens });
    const pos = text.length + 1;
    expect(maps.tokens).toEqual(["\u27e8bos\u27e9", ...text.split("")]);
    expect(maps.norm).toHaveLength(7);
    expect(maps.nonlinearity).toHaveLength(6);

    const states = tf.tidy(() => model.forward(tf.tensor2d(maps.ids, [1, pos], "int32"), { logits: false }).hiddenStates.map((h) => h.dataSync()));
    const d = model.config.d_model;
    // norms
    for (const s of [0, 6]) {
      for (let t = 0; t < pos; t++) {
        let n2 = 0;
        for (let c = 0; c < d; c++) n2 += states[s][t * d + c] ** 2;
        expect(Math.abs(maps.norm[s][t] - Math.sqrt(n2))).toBeLessThan(1e-4 * Math.sqrt(n2));
      }
    }
    // lens losses, shifted onto the predicted token
    const [lens] = await lensSequences(model, [maps.ids]);
    expect(Number.isNaN(maps.lensLoss[3][0])).toBe(true);
    expect(maps.lensLoss[3][5]).toBe(lens.loss[3][4]);

    // nonlinearity of block 2 (state 2 -> 3), float64 reference on the same fit tokens
    const b = 2;
    const rows = (s: number): number[][] => {
      const fit = ds.rows(s, 0, fitTokens);
      const all: number[][] = [];
      for (let t = 0; t < fitTokens; t++) all.push(Array.from(fit.subarray(t * d, (t + 1) * d)));
      for (let t = 0; t < pos; t++) all.push(Array.from(states[s].subarray(t * d, (t + 1) * d)));
      return all;
    };
    const X = rows(b), Y = rows(b + 1);
    const centre = (M: number[][]) => {
      const mean = new Array<number>(d).fill(0);
      for (const r of M) r.forEach((v, c) => (mean[c] += v / M.length));
      return M.map((r) => r.map((v, c) => v - mean[c]));
    };
    const Xc = centre(X), Yc = centre(Y);
    const G = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    const C = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let t = 0; t < Xc.length; t++) for (let p = 0; p < d; p++) {
      const xp = Xc[t][p];
      for (let q = 0; q < d; q++) {
        G[p][q] += xp * Xc[t][q];
        C[p][q] += xp * Yc[t][q];
      }
    }
    const A = solve(G, C);
    let worst = 0;
    for (let t = 0; t < pos; t++) {
      const i = fitTokens + t;
      let res = 0, nrm = 0;
      for (let q = 0; q < d; q++) {
        let f = 0;
        for (let p = 0; p < d; p++) f += Xc[i][p] * A[p][q];
        res += (f - Yc[i][q]) ** 2;
        nrm += Yc[i][q] ** 2;
      }
      worst = Math.max(worst, Math.abs(maps.nonlinearity[b][t] - res / nrm));
    }
    expect(worst).toBeLessThan(1e-3);
    model.dispose();
  });
});
