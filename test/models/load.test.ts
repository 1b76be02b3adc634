/** loadModel: dtypes, shards, memory, input checks, and every loading error. */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readSafetensors, writeSafetensors, type SafetensorsInput } from "../../lib/io/safetensors";
import { loadModel } from "../../lib/models/load";
import { disposeOutput, tinyCheckpoints } from "./helpers";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

const IDS = [[5, 9, 13, 2, 44, 7]];

function states(dir: string): Float32Array[] {
  const model = loadModel(dir);
  const ids = tf.tensor2d(IDS, [1, 6], "int32");
  const out = model.forward(ids);
  const result = [...out.hiddenStates, out.logits!].map((t) => t.dataSync() as Float32Array);
  disposeOutput(out);
  ids.dispose();
  model.dispose();
  return result;
}

/** Copy a checkpoint folder, letting `edit` change its tensors (name -> input) and config. */
function variantOf(src: string, name: string, edit: (t: Record<string, SafetensorsInput>, cfg: Record<string, unknown>) => void): string {
  const dir = path.join(ck.root, name);
  fs.mkdirSync(dir, { recursive: true });
  const st = readSafetensors(path.join(src, "model.safetensors"));
  const tensors: Record<string, SafetensorsInput> = {};
  for (const n of st.names) tensors[n] = { dtype: "F32", shape: st.tensors[n].shape, data: st.tensors[n].read() };
  const cfg = JSON.parse(fs.readFileSync(path.join(src, "config.json"), "utf8"));
  edit(tensors, cfg);
  writeSafetensors(path.join(dir, "model.safetensors"), tensors);
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(cfg));
  return dir;
}

describe("loadModel", () => {
  it("F16, BF16 and sharded copies give the F32 results within their precision", () => {
    const ref = states(ck.dirs["llama-gqa"]);
    const maxDiff = (a: Float32Array[]) => Math.max(...a.map((s, i) => Math.max(...s.map((v, j) => Math.abs(v - ref[i][j])))));
    expect(maxDiff(states(ck.dirs["llama-gqa-sharded"]))).toBe(0);
    const f16 = maxDiff(states(ck.dirs["llama-gqa-f16"]));
    const bf16 = maxDiff(states(ck.dirs["llama-gqa-bf16"]));
    // Weights rounded to 11 (F16) or 8 (BF16) significant bits; activations are O(1).
    expect(f16).toBeLessThan(2e-2);
    expect(f16).toBeGreaterThan(0); // really rounded
    expect(bf16).toBeLessThan(1.5e-1);
    expect(bf16).toBeGreaterThan(f16);
  });

  it("forward leaks no tensors once its outputs are disposed", () => {
    const model = loadModel(ck.dirs["opt"]);
    const ids = tf.tensor2d(IDS, [1, 6], "int32");
    disposeOutput(model.forward(ids)); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) disposeOutput(model.forward(ids, { logits: i % 2 === 0 }));
    expect(tf.memory().numTensors).toBe(before);
    ids.dispose();
    model.dispose();
  });

  it("is causal: changing a later token leaves earlier positions' states unchanged", () => {
    for (const v of ["llama-gqa", "gpt2", "opt", "neox", "mistral"]) {
      const model = loadModel(ck.dirs[v]);
      const a = model.forward(tf.tensor2d([[4, 8, 15, 16, 23]], [1, 5], "int32"), { logits: false });
      const b = model.forward(tf.tensor2d([[4, 8, 15, 16, 42]], [1, 5], "int32"), { logits: false });
      a.hiddenStates.forEach((s, i) => {
        const x = s.arraySync()[0], y = b.hiddenStates[i].arraySync()[0];
        expect(y.slice(0, 4)).toEqual(x.slice(0, 4));
        if (i > 0) expect(y[4]).not.toEqual(x[4]);
      });
      model.dispose();
    }
  });

  it("checks token ids", () => {
    const model = loadModel(ck.dirs["gpt2"]);
    expect(() => model.forward(tf.tensor2d([[1, 67]], [1, 2], "int32"))).toThrow(/gpt2Forward: 'ids' has 67 at row 0, pos 1; expected 0..66 \(d_vocab=67\)/);
    expect(() => model.forward(tf.tensor2d([[1, 2]], [1, 2], "float32"))).toThrow(/'ids' must be int32, got float32/);
    expect(() => model.forward(tf.zeros([1, 65], "int32") as tf.Tensor2D)).toThrow(/pos=65 but the model has n_ctx=64/);
    expect(() => model.forward(tf.zeros([3], "int32") as unknown as tf.Tensor2D)).toThrow(/'ids' expected shape \[batch, pos\], got \[3\]/);
    model.dispose();
  });

  it("lists missing, misshaped and unexpected tensors", () => {
    const dir = variantOf(ck.dirs["llama-gqa"], "broken", (t) => {
      delete t["model.layers.1.mlp.up_proj.weight"];
      t["model.norm.weight"] = { dtype: "F32", shape: [31], data: new Float32Array(31) };
      t["model.layers.0.extra.weight"] = { dtype: "F32", shape: [2], data: new Float32Array(2) };
    });
    expect(() => loadModel(dir)).toThrow(
      /llama checkpoint does not match its config: missing: model\.layers\.1\.mlp\.up_proj\.weight \[64, 32\]; misshaped: model\.norm\.weight expected \[32\], found \[31\]; unexpected: model\.layers\.0\.extra\.weight \[2\]/,
    );
  });

  it("refuses unknown model types, missing files and non-float weights", () => {
    const bert = variantOf(ck.dirs["gpt2"], "bert", (_t, cfg) => {
      cfg.model_type = "bert";
    });
    expect(() => loadModel(bert)).toThrow(/model_type 'bert' is not supported \(supported: gpt2, opt, llama, qwen2, mistral, gpt_neox\)/);
    const ints = variantOf(ck.dirs["gpt2"], "ints", (t) => {
      const w = t["transformer.ln_f.bias"];
      t["transformer.ln_f.bias"] = { dtype: "I32", shape: w.shape, data: new Int32Array(w.shape[0]) };
    });
    expect(() => loadModel(ints)).toThrow(/tensor 'ln_f.bias' has dtype I32; weights must be F32, F16 or BF16/);
    const empty = path.join(ck.root, "empty");
    fs.mkdirSync(empty);
    expect(() => loadModel(empty)).toThrow(/empty[/\\]config\.json: no such file/);
    fs.copyFileSync(path.join(ck.dirs["gpt2"], "config.json"), path.join(empty, "config.json"));
    fs.writeFileSync(path.join(empty, "pytorch_model.bin"), "");
    expect(() => loadModel(empty)).toThrow(/no model\.safetensors or model\.safetensors\.index\.json \(found pytorch_model\.bin; only safetensors weights can be loaded\)/);
    fs.writeFileSync(path.join(empty, "config.json"), "{ not json");
    expect(() => loadModel(empty)).toThrow(/config\.json: not valid JSON/);
  });

  it("refuses an index that names tensors no shard holds", () => {
    const dir = path.join(ck.root, "bad-index");
    fs.cpSync(ck.dirs["llama-gqa-sharded"], dir, { recursive: true });
    const indexPath = path.join(dir, "model.safetensors.index.json");
    const index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
    index.weight_map["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00002.safetensors";
    fs.writeFileSync(indexPath, JSON.stringify(index));
    expect(() => loadModel(dir)).toThrow(/index\.json lists tensors no shard holds: model\.layers\.9\.mlp\.up_proj\.weight/);
  });
});
