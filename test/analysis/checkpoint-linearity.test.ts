import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { checkpointLinearity, listCheckpointDirs } from "../../lib/analysis/checkpoint-linearity";
import { cutSequences } from "../../lib/extract/sequences";
import { loadTextSource } from "../../lib/extract/source";
import { loadModel } from "../../lib/models/load";
import { linearityScore, linearityScoreResidual } from "../../lib/metrics";
import { ByteTokenizer } from "../../lib/tokenizer";

const root = path.resolve(__dirname, "../..");
const checkpoints = path.join(root, "data-samples", "checkpoints");

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("listCheckpointDirs", () => {
  it("lists the shipped checkpoints in step order", () => {
    const dirs = listCheckpointDirs(checkpoints);
    expect(dirs.length).toBeGreaterThanOrEqual(4);
    expect(path.basename(dirs[0])).toBe("step-000000");
    expect([...dirs].sort()).toEqual(dirs);
  });

  it("rejects a missing folder and a folder without checkpoints", () => {
    expect(() => listCheckpointDirs("/nonexistent/x")).toThrow(/listCheckpointDirs: '\/nonexistent\/x' does not exist/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "probes-ckpt-"));
    try {
      expect(() => listCheckpointDirs(empty)).toThrow(/no checkpoint folder \(with config.json\)/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe("checkpointLinearity", () => {
  it("matches scores computed from a direct forward pass over the same tokens", async () => {
    const dir = listCheckpointDirs(checkpoints)[0];
    const got = await checkpointLinearity(dir, { maxTokens: 256, seqLen: 64, batchSize: 3 });
    expect(got.step).toBe(0);
    expect(got.nTokens).toBe(256);

    // Reference: the same 4 sequences of 64 byte tokens through model.forward in one batch,
    // scored pair by pair on whole tensors.
    const model = loadModel(dir);
    const tok = new ByteTokenizer(model.config);
    const seqs = [...cutSequences(loadTextSource("corpus:brown:heldout"), tok, { seqLen: 64, maxTokens: 256 })];
    expect(seqs.length).toBe(4);
    const ids = tf.tensor2d(Int32Array.from(seqs.flatMap((s) => Array.from(s.tokenIds))), [4, 64], "int32");
    const out = model.forward(ids, { logits: false });
    const flat = out.hiddenStates.map((h) => tf.reshape(h, [256, model.config.d_model]) as tf.Tensor2D);
    for (let l = 0; l < model.config.n_layers; l++) {
      expect(Math.abs(got.scores[l] - linearityScore(flat[l], flat[l + 1]))).toBeLessThan(1e-5);
      expect(Math.abs(got.residualScores[l] - linearityScoreResidual(flat[l], flat[l + 1]))).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it("rejects bad options", async () => {
    await expect(checkpointLinearity(checkpoints, { maxTokens: 0 })).rejects.toThrow(
      /checkpointLinearity: 'maxTokens' expected a positive integer, got 0/,
    );
  });
});
