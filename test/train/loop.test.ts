import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readCurve } from "../../lib/train/curve";
import { readSafetensors } from "../../lib/io/safetensors";
import { train } from "../../lib/train/loop";
import { listCheckpoints } from "../../lib/train/checkpoint";
import { texts, tiny, weightsOf } from "./tiny-run";

let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-train-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function maxAbsDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  let worst = 0;
  for (const k of Object.keys(a)) for (let i = 0; i < a[k].length; i++) worst = Math.max(worst, Math.abs(a[k][i] - b[k][i]));
  return worst;
}

describe("train", () => {
  it("overfits a small repetitive text: loss falls far below the unigram baseline", async () => {
    const out = path.join(tmp, "overfit");
    const r = await train(tiny(out, { steps: 60, evalEvery: 20, checkpointEvery: 60 }), texts);
    const curve = readCurve(path.join(out, "learning-curve.csv"));
    expect(curve.map((c) => c.step)).toEqual([20, 40, 60]);
    expect(curve[2].train_loss).toBeLessThan(curve[0].train_loss);
    expect(r.finalValLoss!).toBeLessThan(0.6 * r.unigramValLoss);
    // ln 257 is the loss of a uniform guess; the untrained model starts near it.
    expect(curve[0].val_loss).toBeLessThan(Math.log(257));
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(Math.abs(summary.val_loss.bits_per_byte - r.finalValLoss! / Math.LN2)).toBeLessThan(1e-12);
    // The final model folder is a Hugging Face Llama checkpoint.
    const config = JSON.parse(fs.readFileSync(path.join(out, "model", "config.json"), "utf8"));
    expect(config).toMatchObject({
      model_type: "llama", architectures: ["LlamaForCausalLM"], vocab_size: 257, bos_token_id: 256,
      eos_token_id: 256, num_hidden_layers: 2, hidden_size: 16, num_key_value_heads: 1, max_position_embeddings: 16,
    });
  });

  it("resumes exactly: 6 steps straight == 3 steps, interrupt, resume, 3 more", async () => {
    const straight = path.join(tmp, "straight");
    await train(tiny(straight, { snapshotSteps: [0, 3] }), texts);

    const split = path.join(tmp, "split");
    let steps = 0;
    const first = await train(tiny(split, { snapshotSteps: [0, 3] }), texts, {
      hooks: { onStep: () => (steps += 1), shouldStop: () => steps >= 3 },
    });
    expect(first.interrupted).toBe(true);
    expect(first.step).toBe(3);
    expect(listCheckpoints(path.join(split, "checkpoints")).map((c) => c.step)).toEqual([2, 3]);
    expect(fs.existsSync(path.join(split, "model"))).toBe(false);
    const second = await train(tiny(split, { snapshotSteps: [0, 3] }), texts, { resume: true });
    expect(second.step).toBe(6);

    expect(maxAbsDiff(weightsOf(path.join(straight, "model")), weightsOf(path.join(split, "model")))).toBeLessThan(1e-6);
    const a = readCurve(path.join(straight, "learning-curve.csv"));
    const b = readCurve(path.join(split, "learning-curve.csv"));
    expect(b.map((r) => r.step)).toEqual(a.map((r) => r.step));
    for (let i = 0; i < a.length; i++) {
      expect(Math.abs(a[i].val_loss - b[i].val_loss)).toBeLessThan(1e-5);
      expect(Math.abs(a[i].train_loss - b[i].train_loss)).toBeLessThan(1e-5);
      expect(b[i].tokens).toBe(a[i].tokens);
    }
    // Snapshots are float16 weight folders with their training note.
    const snap = path.join(split, "snapshots", "step-000003");
    expect(readSafetensors(path.join(snap, "model.safetensors")).tensors["model.norm.weight"].dtype).toBe("F16");
    expect(JSON.parse(fs.readFileSync(path.join(snap, "training.json"), "utf8")).step).toBe(3);
    expect(fs.existsSync(path.join(split, "snapshots", "step-000000", "config.json"))).toBe(true);
  });

  it("refuses to overwrite a run, to resume with other hyperparameters, and bad options", async () => {
    const out = path.join(tmp, "straight"); // has checkpoints from the previous test
    await expect(train(tiny(out), texts)).rejects.toThrow(/already has checkpoints \(newest step 6\); pass 'resume'/);
    await expect(train(tiny(out, { lr: 5e-3 }), texts, { resume: true })).rejects.toThrow(
      /cannot resume .*step-000006: it was trained with lr=0.01, this run asks for 0.005/,
    );
    await expect(train(tiny(path.join(tmp, "bad"), { seqLen: 1 }), texts)).rejects.toThrow(/'seqLen' expected an integer >= 2, got 1/);
    await expect(train(tiny(path.join(tmp, "bad"), { snapshotSteps: [7] }), texts)).rejects.toThrow(/'snapshotSteps' has 7/);
    await expect(train(tiny(path.join(tmp, "bad"), { seqLen: 999 }), texts)).rejects.toThrow(/fewer than one sequence of pos=999/);
  });
});
