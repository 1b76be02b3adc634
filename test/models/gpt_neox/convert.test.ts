/** GPT-NeoX checkpoint conversion: the fused query_key_value's per-head layout, names, buffers, inverse. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { normalizeHfConfig } from "../../../lib/models/config";
import { weightsFromHf } from "../../../lib/models/family";
import { neoxFromHf, neoxToHf, neoxWeightSpec } from "../../../lib/models/gpt_neox/convert";
import { GPT_NEOX } from "../../../lib/models/gpt_neox/family";
import { disposeWeights } from "../../../lib/models/roles";
import type { StateDict } from "../../../lib/models/types";

beforeAll(async () => {
  await initBackend({ quiet: true });
});

// d_model 6, 3 heads of width 2, one block.
const cfg = normalizeHfConfig({
  model_type: "gpt_neox", hidden_size: 6, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 3,
  vocab_size: 5, rotary_pct: 1,
});

/** A state dict of this config whose every tensor holds its flat index, and qkv rows hold row * 100 + col. */
function stateDict(): StateDict {
  const sd: StateDict = {};
  for (const [name, shape] of neoxWeightSpec(cfg).required) {
    const n = shape.reduce((a, b) => a * b, 1);
    sd[name] = tf.tensor(Array.from({ length: n }, (_, i) => i), shape as number[], "float32");
  }
  const p = "gpt_neox.layers.0.attention.query_key_value";
  sd[`${p}.weight`] = tf.tensor2d(Array.from({ length: 18 * 6 }, (_, i) => Math.floor(i / 6) * 100 + (i % 6)), [18, 6]);
  sd[`${p}.bias`] = tf.tensor1d(Array.from({ length: 18 }, (_, r) => r));
  return sd;
}

describe("neoxFromHf", () => {
  it("splits query_key_value per head: head h's q, k, v are rows 3h*d_head.., (3h+1)*d_head.., (3h+2)*d_head..", () => {
    const params = neoxFromHf(cfg, stateDict());
    const { attn, mlp } = params.blocks[0];
    const dHead = 2;
    [attn.q.w, attn.k.w, attn.v.w].forEach((w, which) => {
      // Project layout [in, out]: column h*d_head + i is checkpoint row (3h + which)*d_head + i.
      const a = w.arraySync();
      for (let h = 0; h < 3; h++) for (let i = 0; i < dHead; i++) {
        const row = (3 * h + which) * dHead + i;
        for (let col = 0; col < 6; col++) expect(a[col][h * dHead + i]).toBe(row * 100 + col);
      }
    });
    [attn.q.b, attn.k.b, attn.v.b].forEach((b, which) => {
      const a = b!.arraySync();
      for (let h = 0; h < 3; h++) for (let i = 0; i < dHead; i++) expect(a[h * dHead + i]).toBe((3 * h + which) * dHead + i);
    });
    // nn.Linear weights are transposed to [in, out]; embed_out becomes the [d_model, d_vocab] head.
    expect(mlp.in.w.shape).toEqual([6, 8]);
    expect(mlp.out.w.shape).toEqual([8, 6]);
    expect(params.unembed?.w.shape).toEqual([6, 5]);
    disposeWeights(params);
  });

  it("neoxToHf re-fuses query_key_value per head: HF -> roles -> HF is exact", () => {
    const sd = stateDict();
    const params = neoxFromHf(cfg, sd);
    const back = neoxToHf(cfg, params);
    expect(Object.keys(back).sort()).toEqual(Object.keys(sd).sort());
    for (const [name, t] of Object.entries(sd)) {
      expect(back[name].shape).toEqual(t.shape);
      expect(Array.from(back[name].dataSync())).toEqual(Array.from(t.dataSync()));
    }
    disposeWeights(params);
    tf.dispose(Object.values(back));
  });

  it("lists missing and misshaped tensors; ignores old mask/rotary buffers; no embed_out when tied", () => {
    const sd = stateDict();
    delete sd["gpt_neox.layers.0.mlp.dense_4h_to_h.bias"];
    sd["gpt_neox.final_layer_norm.weight"] = tf.zeros([5]);
    expect(() => weightsFromHf(GPT_NEOX, cfg, sd)).toThrow(
      /gpt_neox checkpoint does not match its config: missing: gpt_neox\.layers\.0\.mlp\.dense_4h_to_h\.bias \[6\]; misshaped: gpt_neox\.final_layer_norm\.weight expected \[6\], found \[5\]/,
    );
    const spec = neoxWeightSpec(cfg);
    for (const buffer of ["attention.bias", "attention.masked_bias", "attention.rotary_emb.inv_freq"]) {
      expect(spec.ignored.some((re) => re.test(`gpt_neox.layers.0.${buffer}`))).toBe(true);
    }
    const tied = normalizeHfConfig({ ...cfg.hf, tie_word_embeddings: true });
    expect(neoxWeightSpec(tied).required.has("embed_out.weight")).toBe(false);
    expect(neoxWeightSpec(tied).optional.has("embed_out.weight")).toBe(true);
    const noBias = normalizeHfConfig({ ...cfg.hf, attention_bias: false });
    expect(neoxWeightSpec(noBias).required.has("gpt_neox.layers.0.attention.query_key_value.bias")).toBe(false);
    expect(neoxWeightSpec(noBias).required.has("gpt_neox.layers.0.attention.dense.bias")).toBe(false);
  });
});
