/** llamaFromHf / llamaToHf / saveCheckpoint round trips and gradients through llamaForward. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { readSafetensors } from "../../../lib/io/safetensors";
import { normalizeHfConfig } from "../../../lib/models/config";
import { llamaFromHf, llamaToHf, llamaWeightSpec } from "../../../lib/models/llama/convert";
import { llamaForward } from "../../../lib/models/llama/forward";
import { disposeWeights, mapWeights } from "../../../lib/models/roles";
import { loadModel } from "../../../lib/models/load";
import { saveCheckpoint } from "../../../lib/models/save";
import type { StateDict } from "../../../lib/models/types";
import { disposeOutput } from "../helpers";

const HF = {
  model_type: "llama", hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 257, max_position_embeddings: 32, rms_norm_eps: 1e-6, tie_word_embeddings: true,
  bos_token_id: 256,
};
const cfg = normalizeHfConfig(HF);
let tmp: string;

function randomStateDict(): StateDict {
  const sd: StateDict = {};
  let seed = 1;
  for (const [name, shape] of llamaWeightSpec(cfg).required) sd[name] = tf.randomNormal([...shape], 0, 0.3, "float32", seed++);
  return sd;
}

beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-llama-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("llama converters", () => {
  it("llamaToHf inverts llamaFromHf exactly, with HF names and no lm_head when tied", () => {
    const sd = randomStateDict();
    const back = llamaToHf(cfg, llamaFromHf(cfg, sd));
    expect(Object.keys(back).sort()).toEqual(Object.keys(sd).sort());
    expect(back["lm_head.weight"]).toBeUndefined();
    for (const [name, t] of Object.entries(sd)) {
      expect(back[name].shape).toEqual(t.shape);
      expect(Array.from(back[name].dataSync())).toEqual(Array.from(t.dataSync()));
    }
  });

  it("llamaFromHf leaves the caller's tensors alive when its params are disposed", () => {
    const sd = randomStateDict();
    disposeWeights(llamaFromHf(cfg, sd));
    expect(Object.values(sd).every((t) => !t.isDisposed)).toBe(true);
  });

  it("saveCheckpoint + loadModel reproduce the forward pass (F32 exactly), leaving no temp files", () => {
    const sd = randomStateDict();
    const params = llamaFromHf(cfg, sd);
    const ids = tf.tensor2d([[256, 72, 101, 108, 108, 111]], [1, 6], "int32");
    const direct = llamaForward(cfg, params, ids);
    const dir = path.join(tmp, "saved");
    saveCheckpoint(dir, HF, llamaToHf(cfg, params), "F32");
    expect(fs.readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors"]);
    const model = loadModel(dir);
    const loaded = model.forward(ids);
    direct.hiddenStates.forEach((s, i) => expect(Array.from(loaded.hiddenStates[i].dataSync())).toEqual(Array.from(s.dataSync())));
    expect(Array.from(loaded.logits!.dataSync())).toEqual(Array.from(direct.logits!.dataSync()));
    disposeOutput(direct);
    disposeOutput(loaded);
    model.dispose();
  });

  it("saveCheckpoint writes F16/BF16 (by either name) and refuses bad input", () => {
    const sd = randomStateDict();
    saveCheckpoint(path.join(tmp, "f16"), HF, sd, "float16");
    saveCheckpoint(path.join(tmp, "bf16"), HF, sd, "BF16");
    expect(readSafetensors(path.join(tmp, "f16", "model.safetensors")).tensors["model.norm.weight"].dtype).toBe("F16");
    expect(readSafetensors(path.join(tmp, "bf16", "model.safetensors")).tensors["model.norm.weight"].dtype).toBe("BF16");
    expect(() => saveCheckpoint(path.join(tmp, "x"), HF, sd, "F64" as "F32")).toThrow(/saveCheckpoint: dtype must be one of .*got 'F64'/);
    expect(() => saveCheckpoint(path.join(tmp, "x"), {}, sd)).toThrow(/saveCheckpoint: hfConfig has no 'model_type'/);
    expect(() => saveCheckpoint(path.join(tmp, "x"), HF, { ids: tf.zeros([2], "int32") })).toThrow(/tensor 'ids' is int32, expected float32/);
  });
});

describe("llamaForward is differentiable", () => {
  it("tf.variableGrads matches central finite differences on chosen weights", () => {
    const sd = randomStateDict();
    const base = llamaFromHf(cfg, sd);
    const vars = mapWeights(base, (t) => tf.variable(t));
    const ids = tf.tensor2d([[256, 3, 99, 7, 42]], [1, 5], "int32");
    const target = tf.tensor2d([[3, 99, 7, 42, 1]], [1, 5], "int32");
    // Mean cross-entropy of next-token prediction.
    const lossOf = (p: typeof vars) =>
      tf.tidy(() => {
        const logits = llamaForward(cfg, p, ids).logits!;
        const logp = tf.logSoftmax(logits);
        const onehot = tf.cast(tf.oneHot(target, cfg.d_vocab), "float32");
        return tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), -1))) as tf.Scalar;
      });
    const { grads } = tf.variableGrads(() => lossOf(vars));
    const byVar = (t: tf.Tensor) => grads[(t as tf.Variable).name];
    // Probe one entry in the embedding, a GQA key projection, the gate and a norm gain.
    const probes: [tf.Variable, number][] = [
      [vars.embed as unknown as tf.Variable, 99 * 16 + 3],
      [vars.blocks[0].attn.k.w as unknown as tf.Variable, 5],
      [vars.blocks[1].mlp.gate!.w as unknown as tf.Variable, 17],
      [vars.blocks[1].ln1.w as unknown as tf.Variable, 2],
    ];
    for (const [v, index] of probes) {
      const original = v.dataSync().slice();
      const at = (delta: number) => {
        const shifted = original.slice();
        shifted[index] += delta;
        v.assign(tf.tensor(shifted, v.shape));
        return lossOf(vars).dataSync()[0];
      };
      const h = 1e-2;
      const numeric = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(original, v.shape));
      const analytic = byVar(v).dataSync()[index];
      expect(Math.abs(analytic)).toBeGreaterThan(1e-4); // the probe touches the loss
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
    }
  });
});
