/**
 * Streamed extraction (weights read block by block under a small --memory) against whole-model
 * extraction: the same datasets file for file, with --points, --spread and two worker threads;
 * and a real `linearity extract` process killed with SIGKILL mid-run, then resumed streamed,
 * ends identical to an uninterrupted streamed run.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { extract } from "../../lib/extract/extract";
import { openCheckpoint } from "../../lib/models/load";
import { planModel } from "../../lib/models/stream/plan";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";
import { snapshot } from "./snapshot";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stream-extract-"));
let model = "";
let text = "";
/** A budget that holds one block (and a few sequences' states), far below the whole model's weights. */
let oneBlock = 0;

beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("llama", { n_layers: 6, d_model: 32, n_heads: 4, d_vocab: 257, n_ctx: 32, bos: 256 }));
  text = path.join(tmp, "t.txt");
  fs.writeFileSync(text, ["First document, streamed one block at a time.", "Second one: weights read on demand, freed after use."].join("\n\n").repeat(3));
  const ck = openCheckpoint(model);
  oneBlock = planModel(ck, 2 ** 40, "streamed").weightPeak + 192 * 1024;
  expect(oneBlock).toBeLessThan(planModel(ck, 2 ** 40, "whole").weightPeak);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * What a dataset holds, whatever its shard layout (a streamed run puts as many sequences in one
 * forward, and so one shard, as its budget allows): every state's values, the ids, the samples.
 */
function contents(dir: string): { states: string[]; ids: string; samples: unknown; complete: boolean; names?: readonly string[] } {
  const ds = HiddenStateDataset.open(dir);
  const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
  return {
    states: Array.from({ length: ds.nStates }, (_, b) => b64(ds.state(b))),
    ids: b64(ds.tokenIds()!),
    samples: ds.samples,
    complete: ds.complete,
    names: ds.stateNames,
  };
}

describe("streamed extraction", () => {
  it("equals the whole-model extraction, with --points, --spread and two workers", async () => {
    for (const extra of [{}, { points: "resid_mid,mlp_out,resid_post,ln_final" }, { spread: true, maxTokens: 200 }]) {
      const settings = { model, text, seqLen: 16, batchSize: 2, ...extra };
      const whole = await extract({ ...settings, out: path.join(tmp, `whole-${Object.keys(extra).join("-")}`), run: "whole" });
      const streamed = await extract({ ...settings, out: path.join(tmp, `streamed-${Object.keys(extra).join("-")}`), memory: oneBlock });
      expect(whole.streamed).toBe(false);
      expect(streamed.streamed).toBe(true);
      expect(streamed.tokens).toBe(whole.tokens);
      expect(contents(streamed.out)).toEqual(contents(whole.out));
      if ("points" in extra) {
        // Two worker threads asked: a model that streams under half the budget runs in this thread instead.
        const workers = await extract({ ...settings, out: path.join(tmp, "workers"), memory: 2 * oneBlock, workers: 2 });
        expect(workers.streamed).toBe(true);
        expect(contents(workers.out)).toEqual(contents(whole.out));
      }
    }
  });

  it("a budget too small for one block is refused before anything is written", async () => {
    const out = path.join(tmp, "too-small");
    await expect(extract({ model, text, out, memory: 1024 })).rejects.toThrow(/block \d+ \(model\.layers\.\d+, 9 tensors\) needs .* more than the memory budget of 1\.00 KiB \(--memory\)$/);
    expect(fs.existsSync(path.join(out, "manifest.json"))).toBe(false);
  });

  // float16: the states are encoded as the forward makes them (lib/dataset/float16-batch.ts).
  it.each(["float32", "float16"] as const)("SIGKILL during a streamed CLI extraction (%s), then resume: the same dataset as an uninterrupted run", async (dtype) => {
    const settings = { seqLen: 8, batchSize: 1, dtype };
    const whole = await extract({ model, text, out: path.join(tmp, `uninterrupted-${dtype}`), ...settings, memory: oneBlock });
    expect(whole.streamed).toBe(true);
    const out = path.join(tmp, `killed-${dtype}`);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(__dirname, "cli-entry.ts"), "extract", "--model", model, "--text", text, "--out", out,
        "--seq-len", String(settings.seqLen), "--batch-size", "1", "--workers", "1", "--memory", String(oneBlock), "--dtype", dtype],
      // LINEARITY_NATIVE=0: wasm's matmul, as this process computes, so datasets compare byte for byte.
      { env: { ...process.env, LINEARITY_QUIET: "1", LINEARITY_TEST_APPEND_DELAY_MS: "40", LINEARITY_NATIVE: "0" }, stdio: "ignore" },
    );
    const exited = new Promise<string | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    const manifest = path.join(out, "manifest.json");
    for (let i = 0; i < 600; i++) {
      if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, "utf8")).n_samples >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const part = JSON.parse(fs.readFileSync(manifest, "utf8"));
    expect(part.complete).toBe(false);
    expect(part.n_samples).toBeGreaterThanOrEqual(3);
    expect(part.n_samples).toBeLessThan(whole.samples);
    const rest = await extract({ model, text, out, ...settings, memory: oneBlock });
    expect(rest.streamed).toBe(true);
    expect(rest.complete).toBe(true);
    expect(snapshot(out)).toEqual(snapshot(whole.out));
  });
});
