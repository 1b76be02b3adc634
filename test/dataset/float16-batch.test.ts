/**
 * Float16Batch (float16 states put as the forward pass makes them, lib/dataset/float16-batch.ts):
 * a dataset written through it, rows put out of order, is byte for byte the one append writes
 * from float32 states; a batch fills while the shard before it is written without touching that
 * shard's bytes; puts outside the batch, incomplete batches and mismatched appends are refused;
 * NaN and overflow get append's messages with the dataset row.
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { Float16Batch } from "../../lib/dataset/float16-batch";
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { nativeBlas } from "../../lib/native";
import { MODEL, datasetFiles, makeBatch, tempDir } from "./helpers";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** appendAsync writes off the main thread only with the native addon; without it, it is append. */
const writesInBackground = nativeBlas()?.files !== undefined;
const S = MODEL.n_layers + 1;
const D = MODEL.d_model;

/** Put every row of `states` ([tokens * D] per state) into `batch`, sequence by sequence from the last, states from the last. */
function putBackwards(batch: Float16Batch, states: Float32Array[], lengths: number[]): void {
  const starts = lengths.map((_, i) => lengths.slice(0, i).reduce((a, b) => a + b, 0));
  for (let s = states.length - 1; s >= 0; s--) {
    for (let q = lengths.length - 1; q >= 0; q--) batch.put(s, starts[q], states[s].subarray(starts[q] * D, (starts[q] + lengths[q]) * D));
  }
}

describe("Float16Batch", () => {
  it("writes, batch after batch with each shard's write in flight while the next batch fills, the dataset append writes from float32", async () => {
    const shards = [[3, 4, 2], [5], [1, 6], [2, 2]];
    const viaAppend = path.join(root, "append");
    const viaBatch = path.join(root, "batch");
    const a = HiddenStateWriter.open(viaAppend, { model: MODEL, dtype: "float16" });
    const b = HiddenStateWriter.open(viaBatch, { model: MODEL, dtype: "float16" });
    let t = 0;
    let writing: Promise<void> = Promise.resolve();
    let inFlight: Float16Batch | undefined;
    for (const lengths of shards) {
      const { samples, states } = makeBatch(lengths, t, S, D);
      a.append(samples, states);
      // The next batch fills while the previous shard is still being written (as extract runs),
      // in memory that shard's write does not read.
      const batch = b.float16Batch(lengths.reduce((x, y) => x + y, 0));
      if (inFlight !== undefined && writesInBackground) expect(batch.buffer.buffer).not.toBe(inFlight.buffer.buffer);
      putBackwards(batch, states, lengths);
      await writing;
      writing = b.appendAsync(samples, batch);
      inFlight = batch;
      t += lengths.reduce((x, y) => x + y, 0);
    }
    await writing;
    a.finish();
    b.finish();
    const want = datasetFiles(viaAppend);
    const got = datasetFiles(viaBatch);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    expect(want.size).toBe(1 + shards.length * (S + 1));
    for (const [file, bytes] of want) expect(got.get(file), file).toBe(bytes);
  });

  it("refuses puts outside the batch, an incomplete batch, and a batch that does not match the append", async () => {
    const w = HiddenStateWriter.open(path.join(root, "refused"), { model: MODEL, dtype: "float16" });
    const batch = w.float16Batch(4);
    expect(() => batch.put(S, 0, new Float32Array(D))).toThrow(`Float16Batch.put: state ${S}, rows 0..1 (${D} values) outside ${S} states x 4 rows of ${D}`);
    expect(() => batch.put(0, 3, new Float32Array(2 * D))).toThrow(/rows 3\.\.5 .* outside/);
    expect(() => batch.put(0, 0, new Float32Array(D + 1))).toThrow(/outside/);
    const { samples, states } = makeBatch([4], 0, S, D);
    for (let s = 0; s < S - 1; s++) batch.put(s, 0, states[s]);
    await expect(w.appendAsync(samples, batch)).rejects.toThrow(`append: state ${S - 1} of the batch has 0 values put, expected ${4 * D}`);
    const three = makeBatch([3], 0, S, D);
    batch.put(S - 1, 0, states[S - 1]);
    await expect(w.appendAsync(three.samples, batch)).rejects.toThrow(`append: the float16 batch holds ${S} states of [4, ${D}], expected ${S} of [tokens=3, d_model=${D}]`);
    expect(w.committedTokens).toBe(0);
    await w.appendAsync(samples, batch);
    expect(w.committedTokens).toBe(4);
    const f32 = HiddenStateWriter.open(path.join(root, "f32"), { model: MODEL, dtype: "float32" });
    expect(() => f32.float16Batch(4)).toThrow(/float16Batch on a float32 dataset$/);
    expect(() => w.float16Batch(0)).toThrow("float16Batch: tokens must be a positive integer, got 0");
  });

  it("names NaN and overflow as append does, at the row of the dataset", async () => {
    const w = HiddenStateWriter.open(path.join(root, "bad"), { model: MODEL, dtype: "float16" });
    const first = makeBatch([3], 0, S, D);
    const ok = w.float16Batch(3);
    putBackwards(ok, first.states, [3]);
    await w.appendAsync(first.samples, ok);
    const batch = w.float16Batch(4);
    const row = new Float32Array(2 * D);
    row[D + 2] = 70000;
    expect(() => batch.put(1, 2, row)).toThrow(`append: state 1 value 70000 at row ${3 + 3}, column 2 overflows float16 (max 65504); write the dataset as float32`);
    row[D + 4] = NaN;
    expect(() => batch.put(1, 2, row)).toThrow(`append: 'state 1' has NaN at row ${3 + 3}, column 4`);
  });
});
