/**
 * scripts/make-big-checkpoints.ts at its --tiny sizes: each layout loads, its tokenizer encodes,
 * its forward matches the float64 reference (test/models/reference/llama.ts), its shards and
 * index agree, its values have the stated spread, and existing folders are refused. The full
 * shapes (13.5 GB for 7B) are written only by `npm run bench:big`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readSafetensors } from "../../lib/io/safetensors";
import { loadModel } from "../../lib/models/load";
import { loadTokenizer } from "../../lib/tokenizer";
import { BIG_SHAPES, configJson, parameterCounts, tinyShape, writeBigCheckpoint } from "../../scripts/make-big-checkpoints";
import { compare, disposeOutput, TOL_F32, TOL_F32_REL } from "../models/helpers";
import { readCheckpoint } from "../models/reference/common";
import { llamaReference } from "../models/reference/llama";

const ROOT = path.resolve(__dirname, "..", "..");
let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "big-ck-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("make-big-checkpoints", () => {
  it("names the published shapes' sizes", () => {
    const shape = (name: string) => BIG_SHAPES.find((s) => s.name === name)!;
    const [llama, mistral, tiny, llama70] = ["llama-2-7b", "mistral-7b", "tinyllama-1.1b", "llama-2-70b"].map(shape);
    // Llama-2-7B is 6.74B parameters, Mistral-7B 7.24B, TinyLlama 1.10B, Llama-2-70B 68.98B (their model cards).
    expect(Math.abs(parameterCounts(llama70).total / 1e9 - 68.977)).toBeLessThan(0.001);
    expect(Math.abs(parameterCounts(llama).total / 1e9 - 6.738)).toBeLessThan(0.001);
    expect(Math.abs(parameterCounts(mistral).total / 1e9 - 7.242)).toBeLessThan(0.001);
    expect(Math.abs(parameterCounts(tiny).total / 1e9 - 1.100)).toBeLessThan(0.001);
    expect(configJson(mistral)).toMatchObject({ sliding_window: 4096, num_key_value_heads: 8, intermediate_size: 14336 });
  });

  it("--zeros: every weight matrix reads as zeros, the norm gains as ones, and the model runs", () => {
    const s = tinyShape(BIG_SHAPES.find((x) => x.name === "llama-2-70b")!);
    const dir = writeBigCheckpoint(path.join(tmp, `${s.name}-zeros`), s, { shardBytes: 64e3, zeros: true });
    let matrices = 0;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".safetensors"))) {
      const st = readSafetensors(path.join(dir, f));
      for (const n of st.names) {
        const v = st.tensors[n].read();
        const want = st.tensors[n].shape.length === 1 ? 1 : 0;
        if (want === 0) matrices++;
        for (let i = 0; i < v.length; i++) if (v[i] !== want) throw new Error(`${n}[${i}] = ${v[i]}, expected ${want}`);
      }
    }
    expect(matrices).toBe(2 + 7 * s.num_hidden_layers);
    const model = loadModel(dir);
    const ids = tf.tensor2d([[1, 5, 9]], [1, 3], "int32");
    const out = model.forward(ids);
    expect(out.hiddenStates.length).toBe(s.num_hidden_layers + 1);
    disposeOutput(out);
    ids.dispose();
    model.dispose();
    const refused = spawnSync(process.execPath, ["--import", "tsx", "scripts/make-big-checkpoints.ts", tmp, "--shape", "llama-2-70b"], { cwd: ROOT, encoding: "utf8" });
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim()).toBe("linearity: llama-2-70b is 138 GB in bf16: write it with --zeros (sparse, zero weights) or --tiny");
  });

  for (const shape of BIG_SHAPES) {
    it(`${shape.name} at tiny size: shards + index load, the tokenizer encodes, the forward matches float64`, () => {
      const s = tinyShape(shape);
      const dir = writeBigCheckpoint(path.join(tmp, s.name), s, { shardBytes: 64e3, seed: 7 });
      const files = fs.readdirSync(dir).sort();
      const shards = files.filter((f) => f.endsWith(".safetensors"));
      expect(shards.length).toBeGreaterThan(1);
      expect(files).toEqual(expect.arrayContaining(["config.json", "model.safetensors.index.json", "tokenizer.json"]));
      expect(files.some((f) => f.includes(".tmp") || f.includes("partial"))).toBe(false);
      const index = JSON.parse(fs.readFileSync(path.join(dir, "model.safetensors.index.json"), "utf8"));
      let bytes = 0;
      for (const f of shards) {
        const st = readSafetensors(path.join(dir, f));
        for (const n of st.names) {
          expect(index.weight_map[n]).toBe(f);
          expect(st.tensors[n].dtype).toBe("BF16");
          bytes += 2 * st.tensors[n].shape.reduce((a, b) => a * b, 1);
        }
      }
      expect(index.metadata.total_size).toBe(bytes);
      expect(bytes).toBe(2 * parameterCounts(s).total);

      const model = loadModel(dir);
      expect(model.config).toMatchObject({ d_model: 64, n_layers: 2, n_kv_heads: s.num_key_value_heads, d_vocab: 512 });
      const tokenizer = loadTokenizer(dir, model.config);
      const ids = tokenizer.encode("The cat sat on the mat; é!").ids;
      expect(ids.length).toBeGreaterThan(5);
      expect(Math.max(...ids)).toBeLessThan(512);

      const rows = [[1, ...ids.slice(0, 8)]];
      const input = tf.tensor2d(rows, [1, rows[0].length], "int32");
      const out = model.forward(input);
      const diffs = compare(out, rows.map((r) => llamaReference(readCheckpoint(dir), r)));
      for (const d of [...diffs.states, diffs.resid, diffs.logits]) expect(d).toBeLessThan(TOL_F32);
      for (const d of [...diffs.relStates, diffs.relResid, diffs.relLogits]) expect(d).toBeLessThan(TOL_F32_REL);
      disposeOutput(out);
      input.dispose();
      model.dispose();
    });
  }

  it("draws weights uniform with std 1/sqrt(fan_in), gains 1, and differently per tensor", () => {
    const s = tinyShape(BIG_SHAPES[0]);
    const dir = writeBigCheckpoint(path.join(tmp, "values"), s, { shardBytes: 1e9 });
    const st = readSafetensors(path.join(dir, "model-00001-of-00001.safetensors"));
    const down = st.tensors["model.layers.0.mlp.down_proj.weight"].read(); // [d, d_mlp]: fan_in d_mlp
    const up = st.tensors["model.layers.0.mlp.up_proj.weight"].read();
    const mean = down.reduce((a, b) => a + b, 0) / down.length;
    const std = Math.sqrt(down.reduce((a, b) => a + (b - mean) ** 2, 0) / down.length);
    const want = 1 / Math.sqrt(s.intermediate_size);
    expect(Math.abs(std - want) / want).toBeLessThan(0.05);
    expect(Math.abs(mean)).toBeLessThan(0.05 * want);
    expect(Math.max(...down.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(3) * want);
    expect(Array.from(st.tensors["model.norm.weight"].read())).toEqual(new Array(64).fill(1));
    let same = 0;
    for (let i = 0; i < 100; i++) same += up[i] === down[i] ? 1 : 0;
    expect(same).toBeLessThan(10);
  });

  it("refuses an existing folder, leaving it untouched, with a one-line error", () => {
    const dir = path.join(tmp, "taken");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "mine.txt"), "keep");
    const cli = path.join(tmp, "cli");
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/make-big-checkpoints.ts", cli, "--tiny", "--shape", "llama-2-7b"], {
      cwd: ROOT, encoding: "utf8",
    });
    // llama-2-7b-tiny is new: written. A second run finds it and refuses.
    expect(r.status).toBe(0);
    const again = spawnSync(process.execPath, ["--import", "tsx", "scripts/make-big-checkpoints.ts", cli, "--tiny", "--shape", "llama-2-7b"], {
      cwd: ROOT, encoding: "utf8",
    });
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toMatch(/^linearity: .*llama-2-7b-tiny already exists; make-big-checkpoints writes only new folders$/);
    expect(() => writeBigCheckpoint(dir, tinyShape(BIG_SHAPES.find((x) => x.name === "tinyllama-1.1b")!))).toThrow(/taken already exists/);
    expect(fs.readdirSync(dir)).toEqual(["mine.txt"]);
    const bad = spawnSync(process.execPath, ["--import", "tsx", "scripts/make-big-checkpoints.ts", tmp, "--shape", "gpt-9"], { cwd: ROOT, encoding: "utf8" });
    expect(bad.stderr.trim()).toBe("linearity: unknown shape 'gpt-9' (known: llama-2-7b, mistral-7b, llama-2-70b, tinyllama-1.1b)");
  });
});
