/**
 * Issue 20 items 7 and 8 and prune's low items: float16 weights beyond 65,504 are refused
 * instead of written as +Inf, too few calibration tokens to rank blocks are refused, and the
 * option checks come before calibration and name prune's own options.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { prune } from "../../lib/interventions/prune";
import { readSafetensors, writeSafetensors } from "../../lib/io/safetensors";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";

let tmp: string;
let model: string;
let text: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-prune-checks-"));
  model = writeTinyCheckpoint(path.join(tmp, "model"), tinyHfConfig("llama", { n_layers: 3, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }), 5);
  text = path.join(tmp, "text.txt");
  fs.writeFileSync(text, "Calibration text for the checks of prune, long enough for a few sequences. ".repeat(40));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = () => ({ model, blocks: 1, select: "bi" as const, replace: "remove" as const, calibrate: text, calibrateTokens: 256, seqLen: 64 });

describe("prune refuses what it cannot do right", () => {
  it("--dtype float16 with a weight beyond 65,504 is refused, naming the tensor; nothing is written (item 7)", async () => {
    const big = path.join(tmp, "big");
    fs.cpSync(model, big, { recursive: true });
    const st = readSafetensors(path.join(big, "model.safetensors"));
    const tensors = Object.fromEntries(st.names.map((n) => [n, { dtype: "F32" as const, shape: st.tensors[n].shape, data: Float32Array.from(st.tensors[n].data) }]));
    tensors["model.embed_tokens.weight"].data[5] = 70000;
    writeSafetensors(path.join(big, "model.safetensors"), tensors, { format: "pt" });
    const out = path.join(tmp, "big-f16");
    await expect(prune({ ...base(), model: big, out, dtype: "float16" })).rejects.toThrow(
      `${fs.realpathSync(tmp)}/big-f16: weight 'model.embed_tokens.weight' value 70000 at index 5 overflows float16 (max 65504); use --dtype float32 or bfloat16`,
    );
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith(".big-f16"))).toEqual([]);
    const bf16 = await prune({ ...base(), model: big, out, dtype: "bfloat16" });
    expect(bf16.out).toBe(out);
    const written = readSafetensors(path.join(out, "model.safetensors"));
    expect(written.tensors["model.embed_tokens.weight"].data[5]).toBe(70144); // bfloat16's nearest value
  });

  it("fewer calibration tokens than d_model + 2 are refused before any block is measured (item 8)", async () => {
    const stages: string[] = [];
    const out = path.join(tmp, "few");
    await expect(prune({ ...base(), calibrateTokens: 16, seqLen: 2, out, onStage: (m) => stages.push(m) })).rejects.toThrow(
      "--calibrate-tokens: 16 calibration tokens cannot rank the blocks of a d_model 16 model (any 16 x 16 map fits 17 or fewer tokens exactly); give at least 18",
    );
    expect(stages.filter((s) => s.startsWith("measuring"))).toEqual([]);
    await prune({ ...base(), calibrateTokens: 40, seqLen: 2, out, onStage: (m) => stages.push(m) });
    expect(stages.some((s) => s.startsWith("warning: 40 calibration tokens for d_model 16"))).toBe(true);
  });

  it("--calibrate-tokens below --seq-len names --calibrate-tokens, not --max-tokens; --blocks beyond the model fails before calibrating", async () => {
    const stages: string[] = [];
    const out = path.join(tmp, "never");
    await expect(prune({ ...base(), calibrateTokens: 4, out })).rejects.toThrow("--calibrate-tokens must be an integer >= --seq-len (64), got 4");
    await expect(prune({ ...base(), replace: "linear", blocks: 9, out, onStage: (m) => stages.push(m) })).rejects.toThrow("--blocks must be an integer from 1 to 3");
    expect(stages).toEqual([]);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe("prune on a model that computes NaN", () => {
  it("names the model and the block whose output is not finite", async () => {
    const dir = path.join(tmp, "nan-model");
    fs.cpSync(model, dir, { recursive: true });
    const st = readSafetensors(path.join(dir, "model.safetensors"));
    const tensors = Object.fromEntries(st.names.map((n) => [n, { dtype: "F32" as const, shape: st.tensors[n].shape, data: Float32Array.from(st.tensors[n].data) }]));
    tensors["model.layers.1.mlp.down_proj.weight"].data.fill(NaN);
    writeSafetensors(path.join(dir, "model.safetensors"), tensors, { format: "pt" });
    await expect(prune({ ...base(), model: dir, out: path.join(tmp, "nan-out") })).rejects.toThrow(
      `${dir}: the output of block 1 (residual 2) has NaN at token 0, column 0 of the calibration text; the model computes non-finite values`,
    );
    expect(fs.existsSync(path.join(tmp, "nan-out"))).toBe(false);
  });
});
