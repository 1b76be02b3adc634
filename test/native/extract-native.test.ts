/**
 * Extraction with the forward passes' products on the native BLAS (as `linearity extract` runs
 * it), in one thread and on 2 workers, against the same extraction on the wasm kernels; and the
 * worker pool gives the BLAS's thread count back when it closes. Skipped, with a notice, where
 * the native BLAS is unavailable or another backend is forced.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { extract } from "../../lib/extract/extract";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { nativeMatmulInstalled } from "../../lib/native/wasm-matmul";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";

const forced = process.env.LINEARITY_BACKEND;
const otherBackend = forced !== undefined && forced !== "" && forced !== "wasm";
const runs = nativeBlas() !== undefined && !otherBackend;
if (!runs) console.warn(`test/native/extract-native.test.ts: SKIPPED, ${otherBackend ? `LINEARITY_BACKEND=${forced}` : nativeBlasStatus()}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "extract-native-"));
let model = "";
let textFile = "";
const wasmDir = path.join(tmp, "wasm");
beforeAll(async () => {
  if (!runs) return;
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("llama", { n_layers: 2, d_model: 64, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }));
  textFile = path.join(tmp, "text.txt");
  fs.writeFileSync(textFile, "Native products, the same states to float32 rounding.\n".repeat(6));
  // The reference: this thread's wasm kernels, before the native ones are installed.
  await extract({ model, text: textFile, out: wasmDir, seqLen: 16, batchSize: 2 });
  await initBackend({ quiet: true, nativeMatmul: true });
  expect(nativeMatmulInstalled()).toBe(true);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Largest |a - b| over every state of every token of two datasets with the same tokens. */
function gap(a: string, b: string): { worst: number; scale: number } {
  const da = HiddenStateDataset.open(a);
  const db = HiddenStateDataset.open(b);
  expect(Array.from(db.tokenIds()!)).toEqual(Array.from(da.tokenIds()!));
  let worst = 0;
  let scale = 0;
  for (let s = 0; s < da.nStates; s++) {
    const x = da.rows(s, 0, da.nTokens);
    const y = db.rows(s, 0, db.nTokens);
    for (let i = 0; i < x.length; i++) {
      worst = Math.max(worst, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
  }
  return { worst, scale };
}

describe.skipIf(!runs)("extraction on the native BLAS", () => {
  it("in one thread and on 2 workers equals the wasm extraction to float32 rounding; the BLAS threads are restored", async () => {
    const blas = nativeBlas()!;
    const threadsBefore = blas.threads();
    const inThread = path.join(tmp, "native-1");
    const workers = path.join(tmp, "native-2");
    await extract({ model, text: textFile, out: inThread, seqLen: 16, batchSize: 2 });
    const r = await extract({ model, text: textFile, out: workers, seqLen: 16, batchSize: 2, workers: 2 });
    expect(r.samples).toBeGreaterThan(4); // several batches, so both workers ran some
    expect(blas.threads()).toBe(threadsBefore);
    for (const dir of [inThread, workers]) {
      const { worst, scale } = gap(wasmDir, dir);
      expect(scale).toBeGreaterThan(0.1); // not vacuous
      // Float32 summation order only: within 32 ulps of the largest value (float32 eps 1.2e-7).
      expect(worst / scale).toBeLessThan(32 * 1.2e-7);
      // ... but not bit for bit: the products did run on the BLAS (in the workers too).
      expect(worst).toBeGreaterThan(0);
    }
  });
});
