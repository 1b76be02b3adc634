/** GPT-NeoX forward: gradients through partial rotary and both residual forms, by finite differences. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { ensureGradients } from "../../../lib/models/common/gradients";
import { normalizeHfConfig } from "../../../lib/models/config";
import { neoxFromHf, neoxWeightSpec } from "../../../lib/models/gpt_neox/convert";
import { neoxForward } from "../../../lib/models/gpt_neox/forward";
import { disposeWeights, mapWeights, type ModelWeights } from "../../../lib/models/roles";
import type { StateDict } from "../../../lib/models/types";

beforeAll(async () => {
  await initBackend({ quiet: true });
  ensureGradients();
});

// d_model 16, 2 heads of 8, rotary on 4 of them (rotary_pct 0.5).
const base = {
  model_type: "gpt_neox", hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
  vocab_size: 23, rotary_pct: 0.5, rotary_emb_base: 100,
};

function randomWeights(cfg: ReturnType<typeof normalizeHfConfig>): ModelWeights {
  const sd: StateDict = {};
  let seed = 5;
  for (const [name, shape] of neoxWeightSpec(cfg).required) {
    const gain = /layernorm\.weight$|final_layer_norm\.weight$/.test(name);
    sd[name] = gain ? tf.add(1, tf.randomNormal([...shape], 0, 0.1, "float32", seed++)) : tf.randomNormal([...shape], 0, 0.3, "float32", seed++);
  }
  const w = neoxFromHf(cfg, sd);
  tf.dispose(Object.values(sd));
  return w;
}

describe("neoxForward gradients", () => {
  for (const parallel of [true, false]) {
    it(`tf.variableGrads matches central finite differences (use_parallel_residual=${parallel})`, () => {
      const cfg = normalizeHfConfig({ ...base, use_parallel_residual: parallel });
      const vars = mapWeights(randomWeights(cfg), (t) => tf.variable(t));
      const ids = tf.tensor2d([[1, 7, 3, 22, 9, 4]], [1, 6], "int32");
      const target = tf.tensor2d([[7, 3, 22, 9, 4, 0]], [1, 6], "int32");
      const lossOf = () =>
        tf.tidy(() => {
          const logp = tf.logSoftmax(neoxForward(cfg, vars, ids).logits!);
          const onehot = tf.cast(tf.oneHot(target, cfg.d_vocab), "float32");
          return tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), -1))) as tf.Scalar;
        });
      const { grads } = tf.variableGrads(lossOf);
      // q columns 1 (rotated: head 0, dim 1 < rotary_dim 4) and 6 (passed through: head 0, dim 6),
      // a key column of head 1, the MLP-side norm gain, and the untied embed_out.
      const probes: [tf.Variable, number][] = [
        [vars.blocks[0].attn.q.w as tf.Variable, 3 * 16 + 1],
        [vars.blocks[0].attn.q.w as tf.Variable, 3 * 16 + 6],
        [vars.blocks[1].attn.k.w as tf.Variable, 2 * 16 + 9],
        [vars.blocks[0].ln2.w as tf.Variable, 4],
        [vars.unembed!.w as tf.Variable, 5 * 23 + 3],
      ];
      for (const [v, index] of probes) {
        const original = v.dataSync().slice();
        const at = (delta: number) => {
          const shifted = original.slice();
          shifted[index] += delta;
          v.assign(tf.tensor(shifted, v.shape));
          return lossOf().dataSync()[0];
        };
        const h = 1e-2;
        const numeric = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(original, v.shape));
        const analytic = grads[v.name].dataSync()[index];
        expect(Math.abs(analytic)).toBeGreaterThan(1e-4); // the probe touches the loss
        expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      }
      tf.dispose([ids, target, ...Object.values(grads)]);
      disposeWeights(vars);
    });
  }
});
