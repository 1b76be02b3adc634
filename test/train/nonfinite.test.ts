/**
 * Issue 20 item 6: training stops at the first non-finite loss, gradient or weight, before
 * anything of that step is saved, and names the cause (the regularizer term when it is the one).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { readSafetensors } from "../../lib/io/safetensors";
import { listCheckpoints } from "../../lib/train/checkpoint";
import { train, type TrainTexts } from "../../lib/train/loop";
import { checkTrainOptions, DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../../lib/train/options";

let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-train-nan-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tiny(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    ...DEFAULT_TRAIN_OPTIONS, out, corpus: "test",
    model: { ...DEFAULT_TRAIN_OPTIONS.model, n_layers: 2, d_model: 16, n_heads: 2, n_kv_heads: 1, d_mlp: 32 },
    seqLen: 12, batchSize: 2, steps: 3, lr: 1e-2, minLr: 1e-3, warmup: 1,
    evalEvery: 1, evalSequences: 2, checkpointEvery: 1, keepCheckpoints: 0, finalEvalSequences: 0, snapshotSteps: [],
    ...over,
  };
}
const texts: TrainTexts = { train: ["the cat sat on the mat. ".repeat(10)], heldout: ["a dog sat on a log. ".repeat(4)] };

/** Every weight of every saved checkpoint and of model/ is finite. */
function savedWeightsFinite(out: string): boolean {
  const dirs = [...listCheckpoints(path.join(out, "checkpoints")).map((c) => c.dir), path.join(out, "model")].filter((d) => fs.existsSync(d));
  return dirs.every((d) => {
    const st = readSafetensors(path.join(d, "model.safetensors"));
    return st.names.every((n) => st.tensors[n].data.every(Number.isFinite));
  });
}

describe("non-finite training stops before saving", () => {
  it("--reg-weight beyond float32 is refused at once (1e300 became Inf x R in float32)", () => {
    expect(() => checkTrainOptions(tiny("x", { reg: "cosine", regWeight: 1e300 }))).toThrow(
      "train: 'regWeight' expected a number in [0, 3.4028234663852886e+38] (float32), got 1e+300",
    );
  });

  it("a regularizer term that overflows the gradient stops at step 1 naming the regularizer; nothing saved", async () => {
    const out = path.join(tmp, "reg");
    await expect(train(tiny(out, { reg: "mse", regWeight: 3e38 }), texts)).rejects.toThrow(
      /^train: the (loss|gradient's squared norm) became (NaN|-?Infinity) at step 1; the update was not applied and nothing of this step was saved; the regularizer term \(3e\+38 x R = [^)]*\) dominates; lower 'regWeight' \(no checkpoint yet\)$/,
    );
    expect(listCheckpoints(path.join(out, "checkpoints"))).toEqual([]);
    expect(fs.existsSync(path.join(out, "model"))).toBe(false);
  });

  it("weights that overflow in an update stop that step, before its checkpoint (not one step late)", async () => {
    const out = path.join(tmp, "lr");
    let seen = 0;
    // Two good steps, then a learning rate no float32 weight survives.
    const opts = tiny(out, { steps: 4, lr: 1e-2 });
    const failing = train(opts, texts, { hooks: { onStep: () => (seen += 1) } });
    await failing;
    expect(seen).toBe(4);
    const bad = path.join(tmp, "lr-bad");
    await expect(train(tiny(bad, { lr: 1e39, warmup: 0 }), texts)).rejects.toThrow(
      /^train: \d[\d,]* weights became NaN or infinite in the update of step 1 \(first in '[^']+'\); nothing of this step was saved; lower 'lr' or raise 'warmup' \(no checkpoint yet\)$/,
    );
    expect(listCheckpoints(path.join(bad, "checkpoints"))).toEqual([]);
    expect(savedWeightsFinite(bad)).toBe(true);
  });
});
