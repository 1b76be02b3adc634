/**
 * HiddenStateWriter.appendAsync (shard files written and fsynced off the main thread by the native
 * addon) writes the same bytes as append, in both dtypes and with tags; appends wait for each
 * other; and the native call reports a failure by file and code. Without the addon appendAsync is
 * append, and the same comparison holds.
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { MODEL, datasetFiles, makeBatch, tempDir } from "./helpers";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const S = MODEL.n_layers + 1;
const D = MODEL.d_model;
const files = nativeBlas()?.files;
if (files === undefined) console.warn(`test/dataset/append-async.test.ts: native shard writes SKIPPED (appendAsync falls back to append): ${nativeBlasStatus()}`);

describe("HiddenStateWriter.appendAsync", () => {
  for (const dtype of ["float16", "float32"] as const) {
    it(`writes the same dataset as append (${dtype}, tags on one shard)`, async () => {
      const shards = [[3, 4, 2], [5], [1, 6]];
      const write = async (name: string, async: boolean) => {
        const dir = path.join(root, `${name}-${dtype}`);
        const w = HiddenStateWriter.open(dir, { model: MODEL, dtype, extra: { corpus: "test" } });
        let t = 0;
        for (const [i, lengths] of shards.entries()) {
          const { samples, states } = makeBatch(lengths, t, S, D, { tags: i === 1 });
          if (async) await w.appendAsync(samples, states);
          else w.append(samples, states);
          t += lengths.reduce((a, b) => a + b, 0);
        }
        w.finish();
        return datasetFiles(dir);
      };
      const sync = await write("sync", false);
      const viaAsync = await write("async", true);
      expect([...viaAsync.keys()].sort()).toEqual([...sync.keys()].sort());
      expect(sync.size).toBe(1 + 3 * (S + 1) + 1); // manifest, 3 shards of S states + ids, one tags file
      for (const [file, bytes] of sync) expect(viaAsync.get(file), file).toBe(bytes);
    });
  }

  it("refuses a second append while one is being written, and accepts it after", async () => {
    const dir = path.join(root, "overlap");
    const w = HiddenStateWriter.open(dir, { model: MODEL, dtype: "float16" });
    const a = makeBatch([4], 0, S, D), b = makeBatch([2], 4, S, D);
    const first = w.appendAsync(a.samples, a.states);
    if (files !== undefined) {
      await expect(w.appendAsync(b.samples, b.states)).rejects.toThrow(/appendAsync while an earlier append is still being written/);
      expect(() => w.append(b.samples, b.states)).toThrow(/append while an earlier append is still being written/);
    }
    await first;
    await w.appendAsync(b.samples, b.states);
    expect(w.committedTokens).toBe(6);
  });

  it.skipIf(files === undefined)("the native write reports the first failure by file and code, and writes nothing after it", async () => {
    const dir = path.join(root, "fail");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "b.npy"), "taken");
    const header = new Uint8Array([1, 2]), body = new Float32Array([1, 2, 3]);
    const job = files!.writeShardFiles(dir, [[path.join(dir, "a.npy"), header, body], [path.join(dir, "b.npy"), header, body], [path.join(dir, "c.npy"), header, body]]);
    await expect(job).rejects.toMatchObject({ code: "EEXIST", path: path.join(dir, "b.npy") });
    expect(fs.readFileSync(path.join(dir, "a.npy"))).toEqual(Buffer.concat([Buffer.from(header), Buffer.from(body.buffer)]));
    expect(fs.readFileSync(path.join(dir, "b.npy"), "utf8")).toBe("taken");
    expect(fs.existsSync(path.join(dir, "c.npy"))).toBe(false);
  });
});
