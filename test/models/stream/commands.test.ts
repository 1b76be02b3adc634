/**
 * The library calls behind lens, prune, eval and checkpoint linearity, streamed under a small
 * budget against the same calls with the whole model resident: the same numbers (hidden states
 * are bit for bit; logits, and what is computed from them, within float32 rounding), and a pruned
 * folder written from a streamed model reads back streamed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { checkpointLinearity } from "../../../lib/analysis/checkpoint-linearity";
import { evaluateModel } from "../../../lib/interventions/evaluate";
import { prune } from "../../../lib/interventions/prune";
import { logitLens } from "../../../lib/lens/lens";
import { openCheckpoint } from "../../../lib/models/load";
import { planModel } from "../../../lib/models/stream/plan";
import { tinyHfConfig, writeTinyCheckpoint } from "../../extract/tiny";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stream-commands-"));
let model = "";
let text = "";
let calib = "";
let budget = 0;

beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("gpt2", { n_layers: 6, d_model: 32, n_heads: 4, d_vocab: 257, n_ctx: 32, bos: 256 }));
  text = path.join(tmp, "eval.txt");
  calib = path.join(tmp, "calib.txt");
  fs.writeFileSync(text, "Held-out words for the evaluation, read by a streamed model. ".repeat(8));
  fs.writeFileSync(calib, "Calibration text on which blocks are measured and fitted, not evaluated. ".repeat(8));
  const ck = openCheckpoint(model);
  budget = planModel(ck, 2 ** 40, "streamed").weightPeak + 512 * 1024;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const close = (a: readonly number[], b: readonly number[], tol: number) => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]), `index ${i}`).toBeLessThanOrEqual(tol));
};

describe("streamed library calls equal whole ones", () => {
  it("logitLens: per-state loss and top-1", async () => {
    const opts = { model, text, maxTokens: 256, seqLen: 16 };
    const whole = await logitLens({ ...opts, run: "whole" });
    const streamed = await logitLens({ ...opts, memory: budget });
    expect(whole.streamed).toBe(false);
    expect(streamed.streamed).toBe(true);
    close(streamed.summary.loss, whole.summary.loss, 1e-5);
    close(streamed.summary.top1, whole.summary.top1, 0);
    expect(Math.abs(streamed.summary.modelLoss - whole.summary.modelLoss)).toBeLessThanOrEqual(1e-5);
  });

  it("evaluateModel: the same loss", async () => {
    const opts = { model, text, maxTokens: 256, seqLen: 16 };
    const whole = await evaluateModel({ ...opts, run: "whole" });
    const streamed = await evaluateModel({ ...opts, memory: budget });
    expect(streamed.streamed).toBe(true);
    expect(Math.abs(streamed.natsPerToken - whole.natsPerToken)).toBeLessThanOrEqual(1e-6);
  });

  it("checkpointLinearity: the same scores (states are bit for bit)", async () => {
    const whole = await checkpointLinearity(model, { text, maxTokens: 256, seqLen: 16, run: "whole" });
    const streamed = await checkpointLinearity(model, { text, maxTokens: 256, seqLen: 16, memory: budget });
    close(streamed.scores, whole.scores, 1e-9);
    close(streamed.residualScores, whole.residualScores, 1e-9);
  });

  it("prune --replace linear: the same choice and fits; the written folder evaluates the same streamed and whole", async () => {
    const opts = { model, blocks: 2, select: "linearity" as const, replace: "linear" as const, calibrate: calib, calibrateTokens: 256, seqLen: 16 };
    const whole = await prune({ ...opts, out: path.join(tmp, "pruned-whole"), run: "whole" });
    const streamed = await prune({ ...opts, out: path.join(tmp, "pruned-streamed"), memory: budget });
    expect(streamed.streamed).toBe(true);
    expect(streamed.selection.blocks).toEqual(whole.selection.blocks);
    close(streamed.stats.linearity, whole.stats.linearity, 1e-9);
    close(streamed.fits.map((f) => f.r2), whole.fits.map((f) => f.r2), 1e-9);
    const evalOpts = { model: streamed.out, text, maxTokens: 256, seqLen: 16 };
    // Streamed: its affine blocks resident, the other blocks read one at a time.
    const back = await evaluateModel({ ...evalOpts, run: "streamed", memory: planModel(openCheckpoint(streamed.out), 2 ** 40, "streamed").weightPeak + 512 * 1024 });
    const backWhole = await evaluateModel({ ...evalOpts, run: "whole" });
    expect(back.streamed).toBe(true);
    expect(back.nLayers).toBe(6);
    expect(Math.abs(back.natsPerToken - backWhole.natsPerToken)).toBeLessThanOrEqual(1e-6);
  });
});
