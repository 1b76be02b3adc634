/**
 * Issue 20 low items: config.json values that parse but poison every output (rope_theta 0,
 * layer_norm_eps -1, head_dim 0, bos_token_id 1.5 or beyond the vocabulary) are refused at load
 * naming config.json; a model that still computes NaN makes eval and lens fail, not print NaN.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readSafetensors, writeSafetensors } from "../../lib/io/safetensors";
import { loadModel } from "../../lib/models/load";
import { runInProcess } from "../cli/helpers";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";

let tmp: string;
let model: string;
let text: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-config-ranges-"));
  model = writeTinyCheckpoint(path.join(tmp, "model"), tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }), 2);
  text = path.join(tmp, "text.txt");
  fs.writeFileSync(text, "A little text to evaluate on, repeated a few times. ".repeat(20));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of the tiny model with config.json fields replaced. */
function withConfig(name: string, over: Record<string, unknown>): string {
  const dir = path.join(tmp, name);
  fs.cpSync(model, dir, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...cfg, ...over }));
  return dir;
}

describe("config.json ranges", () => {
  it.each([
    ["bos-frac", { bos_token_id: 1.5 }, "'bos_token_id' must be a non-negative integer, got 1.5"],
    ["bos-far", { bos_token_id: 300 }, "'bos_token_id' 300 is outside the vocabulary (vocab_size 257)"],
    ["head-dim-0", { head_dim: 0 }, "'head_dim' must be a positive integer, got 0"],
    ["rope-0", { rope_theta: 0 }, "the rotary base (rope_theta) must be a positive number, got 0"],
    ["eps-neg", { rms_norm_eps: -1 }, "the norm epsilon must be a positive number, got -1"],
    ["vocab-0", { vocab_size: 0 }, "d_vocab (vocab_size) must be at least 1, got 0"],
  ])("%s is refused at load, naming the folder's config.json", (name, over, msg) => {
    const dir = withConfig(name, over);
    expect(() => loadModel(dir)).toThrow(`${path.join(dir, "config.json")} (model_type 'llama'): ${msg}`);
  });
});

describe("non-finite outputs are errors", () => {
  it("eval and lens on NaN weights fail with one line naming the model, writing nothing", async () => {
    const dir = path.join(tmp, "nan-weights");
    fs.cpSync(model, dir, { recursive: true });
    const st = readSafetensors(path.join(dir, "model.safetensors"));
    const tensors = Object.fromEntries(st.names.map((n) => [n, { dtype: "F32" as const, shape: st.tensors[n].shape, data: Float32Array.from(st.tensors[n].data) }]));
    tensors["model.layers.1.mlp.down_proj.weight"].data.fill(NaN);
    writeSafetensors(path.join(dir, "model.safetensors"), tensors, { format: "pt" });
    const ids = path.join(tmp, "ids.npy");
    const e = await runInProcess(["eval", "--model", dir, "--text", text, "--max-tokens", "128", "--seq-len", "32", "--ids-out", ids]);
    expect(e.error).toBe(`${dir}: the loss is NaN (the model computes non-finite logits; check its weights and config.json)`);
    expect(fs.existsSync(ids)).toBe(false);
    const json = path.join(tmp, "lens.json");
    const l = await runInProcess(["lens", "--model", dir, "--text", text, "--max-tokens", "128", "--seq-len", "32", "--json", json]);
    expect(l.error).toBe(`${dir}: state 2's lens loss is NaN (the model computes non-finite values; check its weights and config.json)`);
    expect(fs.existsSync(json)).toBe(false);
  });
});

describe("folder files named in errors", () => {
  it("a dangling model.safetensors symlink is named as one, not as 'no model.safetensors (found model.safetensors)'", () => {
    const dir = path.join(tmp, "dangling");
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(model, "config.json"), path.join(dir, "config.json"));
    fs.symlinkSync(path.join(tmp, "nowhere.safetensors"), path.join(dir, "model.safetensors"));
    expect(() => loadModel(dir)).toThrow(`${path.join(dir, "model.safetensors")}: is a symbolic link to a missing file (${path.join(tmp, "nowhere.safetensors")})`);
  });

  it("a tokenizer.json tokenizers.js cannot load is named first, in the usual form", async () => {
    const dir = path.join(tmp, "bad-tokenizer");
    fs.cpSync(model, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "BPE", vocab: { a: 0 }, merges: [] } }));
    const r = await runInProcess(["eval", "--model", dir, "--text", text, "--max-tokens", "128", "--seq-len", "32"]);
    expect(r.error).toMatch(new RegExp(`^${path.join(dir, "tokenizer.json")}: not a tokenizer tokenizers.js can load: `));
  });
});
