import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { loadModel } from "../../lib/models/load";
import { llamaForward } from "../../lib/models/llama/forward";
import { AdamW } from "../../lib/optim/adamw";
import {
  listCheckpoints,
  loadTrainingCheckpoint,
  pruneCheckpoints,
  saveModelFolder,
  saveTrainingCheckpoint,
  stepDirName,
} from "../../lib/train/checkpoint";
import { readCurve, writeCurve } from "../../lib/train/curve";
import { initialStateDict, llamaHfConfig, stateDictOf, trainableFromStateDict, trainedModelConfig, type ModelSizes } from "../../lib/train/model";
import { Rng } from "../../lib/train/random";

let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-ckpt-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sizes: ModelSizes = {
  n_layers: 2, d_model: 16, n_heads: 4, n_kv_heads: 2, d_mlp: 24, n_ctx: 12, rope_theta: 10000, norm_eps: 1e-5, tie_word_embeddings: false,
};

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe("training checkpoints", () => {
  const cfg = trainedModelConfig(sizes);
  const makeIds = () => tf.tensor2d([[256, 72, 101, 108, 108, 111, 32, 119], [256, 0, 255, 10, 32, 33, 97, 122]], [2, 8], "int32");

  it("round-trips: saved folder -> loadModel gives the same logits and hidden states", () => {
    const ids = makeIds();
    const sd = initialStateDict(sizes, new Rng(5));
    const { params, variables } = trainableFromStateDict(cfg, sd);
    const want = llamaForward(cfg, params, ids, { logits: true });
    const dir = path.join(tmp, "f32");
    saveModelFolder(dir, llamaHfConfig(sizes), stateDictOf(cfg, params), "float32", { step: 0 });
    const model = loadModel(dir);
    expect(model.config.family).toBe("llama");
    expect(model.config.d_vocab).toBe(257);
    expect(model.config.bos_token_id).toBe(256);
    const got = model.forward(ids, { logits: true });
    expect(maxAbs(got.logits!.dataSync(), want.logits!.dataSync())).toBeLessThan(1e-6);
    for (let s = 0; s <= sizes.n_layers; s++) {
      expect(maxAbs(got.hiddenStates[s].dataSync(), want.hiddenStates[s].dataSync())).toBeLessThan(1e-6);
    }
    // float16 weights: the same model to within float16 rounding of the weights.
    const dir16 = path.join(tmp, "f16");
    saveModelFolder(dir16, llamaHfConfig(sizes), stateDictOf(cfg, params), "float16", { step: 0 });
    const logits16 = loadModel(dir16).forward(ids, { logits: true }).logits!.dataSync();
    const err16 = maxAbs(logits16, want.logits!.dataSync());
    expect(err16).toBeLessThan(1e-3);
    expect(JSON.parse(fs.readFileSync(path.join(dir16, "config.json"), "utf8")).torch_dtype).toBe("float16");
    model.dispose();
    for (const v of variables) v.variable.dispose();
    for (const t of Object.values(sd)) t.dispose();
  });

  it("restores weights, optimizer moments and trainer state exactly", () => {
    const sd = initialStateDict(sizes, new Rng(6));
    const { params, variables } = trainableFromStateDict(cfg, sd);
    const opt = new AdamW(variables);
    opt.step(variables.map((v) => tf.onesLike(v.variable)), 1e-3);
    const state = {
      format: "linearity-train-state" as const, version: 1 as const, step: 1, dataRngState: 123456789, tokensSeen: 96,
      seconds: 1.5, intervalLossSum: 5.5, intervalSteps: 1, options: { lr: 1e-3 },
    };
    const ckpts = path.join(tmp, "checkpoints");
    for (const step of [1, 2, 3]) {
      saveTrainingCheckpoint(path.join(ckpts, stepDirName(step)), llamaHfConfig(sizes), stateDictOf(cfg, params), opt.getState(), { ...state, step });
    }
    expect(listCheckpoints(ckpts).map((c) => c.step)).toEqual([1, 2, 3]);
    expect(fs.readdirSync(ckpts).filter((n) => n.startsWith("."))).toEqual([]); // no temp folders left
    pruneCheckpoints(ckpts, 2);
    expect(listCheckpoints(ckpts).map((c) => c.step)).toEqual([2, 3]);

    const loaded = loadTrainingCheckpoint(path.join(ckpts, stepDirName(3)));
    expect(loaded.state).toEqual({ ...state, step: 3 });
    expect(loaded.optimizer.step).toBe(1);
    const saved = opt.getState();
    for (const v of variables) {
      expect(maxAbs(loaded.optimizer.m[v.name], saved.m[v.name])).toBe(0);
      expect(maxAbs(loaded.optimizer.v[v.name], saved.v[v.name])).toBe(0);
    }
    const again = stateDictOf(cfg, params);
    for (const [name, t] of Object.entries(again)) expect(maxAbs(loaded.weights[name].dataSync(), t.dataSync())).toBe(0);
  });

  it("reports unreadable states and curves with one-line errors", () => {
    const bad = path.join(tmp, "checkpoints-bad", stepDirName(1));
    fs.mkdirSync(bad, { recursive: true });
    fs.writeFileSync(path.join(bad, "trainer_state.json"), "{not json");
    expect(() => loadTrainingCheckpoint(bad)).toThrow(/trainer_state.json: cannot read the trainer state/);
    fs.writeFileSync(path.join(bad, "trainer_state.json"), JSON.stringify({ format: "other", version: 1 }));
    expect(() => loadTrainingCheckpoint(bad)).toThrow(/not a linearity training state \(format "other", version 1\)/);

    const curve = path.join(tmp, "curve.csv");
    writeCurve(curve, [{ step: 10, lr: 1e-3, train_loss: 2.5, val_loss: 2.25, tokens: 640, seconds: 3.25 }]);
    expect(readCurve(curve)).toEqual([{ step: 10, lr: 1e-3, train_loss: 2.5, val_loss: 2.25, tokens: 640, seconds: 3.3 }]);
    fs.writeFileSync(curve, "step,lr\n1,2\n");
    expect(() => readCurve(curve)).toThrow(/expected the header 'step,lr,train_loss,val_loss,tokens,seconds'/);
    fs.writeFileSync(curve, "step,lr,train_loss,val_loss,tokens,seconds\n1,2,x,4,5,6\n");
    expect(() => readCurve(curve)).toThrow(/line 2 is not 6 numbers/);
  });
});
