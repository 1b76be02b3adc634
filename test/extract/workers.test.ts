/** Extraction on worker threads gives the same dataset as in the main thread. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { extract } from "../../lib/extract/extract";
import { defaultExtractWorkers } from "../../lib/extract/forward-pool";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "extract-workers-"));
let model = "";
let textFile = "";
beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }));
  textFile = path.join(tmp, "text.txt");
  fs.writeFileSync(textFile, "Worker threads share the batches of one extraction.\n".repeat(6));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every state of every token, and the manifest without timestamps and settings. */
function contents(dir: string): { states: number[][]; ids: number[]; samples: unknown } {
  const ds = HiddenStateDataset.open(dir);
  return {
    states: Array.from({ length: ds.nStates }, (_, b) => Array.from(ds.rows(b, 0, ds.nTokens))),
    ids: Array.from(ds.tokenIds()!),
    samples: ds.samples,
  };
}

describe("extract with workers", () => {
  it("2 workers write exactly the dataset the main thread writes (sublayer points)", async () => {
    const points = "resid_mid,resid_post";
    const a = path.join(tmp, "inthread-points");
    const b = path.join(tmp, "workers-points");
    const ra = await extract({ model, text: textFile, out: a, seqLen: 16, batchSize: 2, points });
    const rb = await extract({ model, text: textFile, out: b, seqLen: 16, batchSize: 2, points, workers: 2 });
    expect(rb).toMatchObject({ complete: true, samples: ra.samples, tokens: ra.tokens });
    expect(ra.samples).toBeGreaterThan(4); // several batches, so both workers ran some
    expect(contents(b)).toEqual(contents(a));
  });

  it("hidden states: stops after maxBatches with every handed-out batch written, resumes to the in-thread result", async () => {
    const whole = path.join(tmp, "whole");
    await extract({ model, text: textFile, out: whole, seqLen: 16, batchSize: 1 });
    const parts = path.join(tmp, "parts");
    const first = await extract({ model, text: textFile, out: parts, seqLen: 16, batchSize: 1, workers: 2, maxBatches: 3 });
    expect(first).toMatchObject({ complete: false, samples: 3 });
    const rest = await extract({ model, text: textFile, out: parts, seqLen: 16, batchSize: 1, workers: 2 });
    expect(rest.complete).toBe(true);
    expect(contents(parts)).toEqual(contents(whole));
  });

  it("reports a model that fails to load with the loader's message, and refuses a bad worker count", async () => {
    const broken = path.join(tmp, "broken");
    fs.cpSync(model, broken, { recursive: true });
    fs.writeFileSync(path.join(broken, "config.json"), JSON.stringify({ model_type: "bert" }));
    await expect(extract({ model: broken, text: textFile, out: path.join(tmp, "x"), workers: 2 })).rejects.toThrow(
      /model_type 'bert' is not supported/,
    );
    await expect(extract({ model, text: textFile, out: path.join(tmp, "y"), workers: 1.5 })).rejects.toThrow(
      "extract: 'workers' must be a non-negative integer, got 1.5",
    );
    expect(defaultExtractWorkers(1, false)).toBe(1);
    expect(defaultExtractWorkers(2, false)).toBe(2);
    expect(defaultExtractWorkers(64, false)).toBe(2);
    // With the native BLAS the main thread's products use every core.
    expect(defaultExtractWorkers(2, true)).toBe(1);
    expect(defaultExtractWorkers(64, true)).toBe(1);
  });
});
