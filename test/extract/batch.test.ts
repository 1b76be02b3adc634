/**
 * batchStates: the states read in place from the wasm heap equal tfjs's `data()` copies, sequences
 * of mixed lengths land in batch order, and buffers handed back through `reuse` are filled in place
 * (a view of the same memory) when they hold the batch, and replaced when they do not.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { batchStates } from "../../lib/extract/batch";
import { openLocalModel, type OpenedModel } from "../../lib/models/open";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "batch-"));
let model: OpenedModel;

beforeAll(async () => {
  await initBackend({ quiet: true });
  const dir = writeTinyCheckpoint(path.join(tmp, "llama"), tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 50, n_ctx: 32 }));
  model = openLocalModel(dir, { noTokenizer: true });
});
afterAll(() => {
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ids = (n: number, seed: number) => Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % 50);

/** The hidden states of each sequence alone, through tfjs's data(): the reference. */
async function alone(tokenIds: Int32Array): Promise<Float32Array[]> {
  const hidden = tf.tidy(() => model.forward(tf.tensor2d(tokenIds, [1, tokenIds.length], "int32"), { logits: false }).hiddenStates);
  const out = await Promise.all(hidden.map((h) => h.data() as Promise<Float32Array>));
  tf.dispose(hidden);
  return out;
}

describe("batchStates", () => {
  it("runs on the wasm backend (the in-place heap read is what is tested)", () => {
    expect(tf.getBackend()).toBe("wasm");
  });

  it("concatenates mixed-length sequences in batch order, equal to each sequence run alone", async () => {
    const batch = [ids(5, 1), ids(3, 2), ids(5, 3), ids(8, 4)].map((tokenIds) => ({ tokenIds }));
    const states = await batchStates(model, batch);
    expect(states.length).toBe(3);
    let row = 0;
    for (const { tokenIds } of batch) {
      const ref = await alone(tokenIds);
      for (let s = 0; s < 3; s++) {
        const got = states[s].subarray(row * 16, (row + tokenIds.length) * 16);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[s][i]));
        expect(worst).toBeLessThan(1e-4); // a batched forward may sum in another order
      }
      row += tokenIds.length;
    }
    expect(states[0].length).toBe(row * 16);
  });

  it("fills the reused buffer in place when it holds the batch, else allocates", async () => {
    const batch = [ids(6, 5), ids(6, 6)].map((tokenIds) => ({ tokenIds }));
    const fresh = await batchStates(model, batch);
    // One buffer, its states one after another.
    expect(new Set(fresh.map((s) => s.buffer)).size).toBe(1);
    fresh.forEach((s, i) => expect(s.byteOffset).toBe(4 * i * 12 * 16));
    const views = (buffer: ArrayBuffer, at = 0) => [0, 1, 2].map((s) => new Float32Array(buffer, at + 4 * s * 100, 100));
    const big = views(new Float32Array(1000).fill(NaN).buffer);
    const reused = await batchStates(model, batch, undefined, big);
    for (let s = 0; s < 3; s++) {
      expect(reused[s].buffer).toBe(big[0].buffer);
      expect(reused[s].length).toBe(12 * 16);
      expect(Array.from(reused[s])).toEqual(Array.from(fresh[s]));
    }
    const refused = [
      [new Float32Array(3 * 12 * 16 - 1)], // too small
      views(new ArrayBuffer(8000), 4), // starts at an offset: not ours to overwrite
      [new Float32Array(1000), new Float32Array(1000), new Float32Array(1000)], // three buffers: only the first is known to be free
    ];
    for (const spare of refused) {
      const got = await batchStates(model, batch, undefined, spare);
      for (const b of new Set(spare.map((s) => s.buffer))) expect(got[0].buffer).not.toBe(b);
      for (let s = 0; s < 3; s++) expect(Array.from(got[s])).toEqual(Array.from(fresh[s]));
    }
  });
});
