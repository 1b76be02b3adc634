/**
 * Training under signals, resumes and leftovers: SIGTERM saves a checkpoint like Ctrl-C, a
 * resumed run's summary keeps full precision, and killed writers' temp folders are removed.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { listCheckpoints, pruneCheckpoints } from "../../lib/train/checkpoint";
import { train, type TrainTexts } from "../../lib/train/loop";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../../lib/train/options";

let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-train-hard-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** No process has this id (above Linux's default pid_max). */
const DEAD_PID = 2 ** 22 + 777;

function tiny(out: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    ...DEFAULT_TRAIN_OPTIONS,
    out,
    corpus: "test",
    model: { ...DEFAULT_TRAIN_OPTIONS.model, n_layers: 1, d_model: 16, n_heads: 2, n_kv_heads: 1, d_mlp: 32 },
    seqLen: 12, batchSize: 2, steps: 4, lr: 1e-2, minLr: 1e-3, warmup: 1,
    evalEvery: 2, evalSequences: 2, checkpointEvery: 2, keepCheckpoints: 0, finalEvalSequences: 4,
    ...over,
  };
}
const texts: TrainTexts = { train: ["the cat sat on the mat. ".repeat(10)], heldout: ["a dog sat on a log. ".repeat(4)] };

describe("train hardening", () => {
  it("a resume after the last checkpoint writes the summary and training.json at full precision", async () => {
    const out = path.join(tmp, "precision");
    const full = await train(tiny(out), texts);
    const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(summary.train_loss_last_interval.nats_per_token).toBe(full.finalTrainLoss);
    // Killed after the final checkpoint, before model/ and summary.json: resume finishes them.
    fs.rmSync(path.join(out, "summary.json"));
    fs.rmSync(path.join(out, "model"), { recursive: true });
    const resumed = await train(tiny(out), texts, { resume: true });
    expect(resumed.finalTrainLoss).toBe(full.finalTrainLoss);
    expect(resumed.finalValLoss).toBe(full.finalValLoss);
    const again = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(again.train_loss_last_interval).toEqual(summary.train_loss_last_interval);
    expect(again.val_loss).toEqual(summary.val_loss);
    const note = JSON.parse(fs.readFileSync(path.join(out, "model", "training.json"), "utf8"));
    expect([note.train_loss, note.val_loss]).toEqual([full.finalTrainLoss, full.finalValLoss]);
  });

  it("removes the temp folders of a killed run when it resumes, and --keep-checkpoints prunes them", async () => {
    const out = path.join(tmp, "leftovers");
    let steps = 0;
    await train(tiny(out), texts, { hooks: { onStep: () => (steps += 1), shouldStop: () => steps >= 2 } });
    const ckpts = path.join(out, "checkpoints");
    const junk = [
      path.join(ckpts, `.step-000004.tmp-${DEAD_PID}`),
      path.join(ckpts, `.step-000002.old-${DEAD_PID}`),
      path.join(out, `.model.tmp-${DEAD_PID}`),
      path.join(out, "snapshots", `.step-000003.tmp-${DEAD_PID}`),
    ];
    for (const j of junk) {
      fs.mkdirSync(j, { recursive: true });
      fs.writeFileSync(path.join(j, "model.safetensors"), Buffer.alloc(1000));
    }
    fs.writeFileSync(path.join(out, `.learning-curve.csv.tmp-${DEAD_PID}-abc`), "step");
    await train(tiny(out), texts, { resume: true });
    for (const j of junk) expect(fs.existsSync(j)).toBe(false);
    expect(fs.readdirSync(out).filter((n) => n.startsWith("."))).toEqual([]);

    // Pruning alone (a run that keeps going) also drops a dead writer's checkpoint temp folder.
    const stale = path.join(ckpts, `.step-000006.tmp-${DEAD_PID}`);
    fs.mkdirSync(stale);
    pruneCheckpoints(ckpts, 1);
    expect(fs.existsSync(stale)).toBe(false);
    expect(listCheckpoints(ckpts).map((c) => c.step)).toEqual([4]);
  });

  it("SIGTERM finishes the step, saves a checkpoint and exits 143", async () => {
    const out = path.join(tmp, "sigterm");
    const args = [
      "--import", "tsx", path.join(__dirname, "cli-entry.ts"), "train", "--out", out,
      "--n-layers", "1", "--d-model", "16", "--n-heads", "2", "--d-mlp", "32", "--seq-len", "12", "--batch-size", "2",
      "--steps", "1000", "--warmup", "1", "--eval-every", "1000", "--eval-sequences", "2", "--checkpoint-every", "1000",
      "--final-eval-sequences", "0", "--snapshot-steps", "",
    ];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, LINEARITY_QUIET: "1", LINEARITY_TEST_SIGNAL_AT_STEP: "SIGTERM:3" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on("exit", (c, s) => r([c, s])));
    expect(signal).toBeNull();
    expect(stderr).toContain("saving a checkpoint");
    expect(code).toBe(143);
    expect(listCheckpoints(path.join(out, "checkpoints")).map((c) => c.step)).toEqual([3]);
    expect(fs.existsSync(path.join(out, "summary.json"))).toBe(false);
  }, 60_000);
});
