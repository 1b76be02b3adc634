import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/backend";
import { ConsecutiveOutputsDataset } from "../../lib/dataset/consecutive";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { writeNpy } from "../../lib/io/npy";
import { makeBatch, tempDir, value } from "./helpers";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend({ quiet: true });
});

const D = 3;
const N_STATES = 7; // a 6-layer model
const LENGTHS = [2, 4, 1, 3]; // samples

/**
 * Brute-force enumeration written from the original's description, independently of the
 * implementation: for b in 0..numLayers-n-2, for each sample, for each token of the sample,
 * yield (x = state b, v1 = state b+1, v2 = state b+n+1) of that token.
 */
function bruteForce(numLayers: number, numSamples: number, n: number) {
  const items: { x: number[]; v1: number[]; v2: number[]; blocks: number[] }[] = [];
  const row = (state: number, token: number) => Array.from({ length: D }, (_, j) => value(state, token, j));
  for (let b = 0; b <= numLayers - n - 2; b++) {
    let token = 0;
    for (let s = 0; s < numSamples; s++) {
      for (let k = 0; k < LENGTHS[s]; k++) {
        items.push({ x: row(b, token), v1: row(b + 1, token), v2: row(b + n + 1, token), blocks: [b, b + 1, b + n + 1] });
        token++;
      }
    }
  }
  return items;
}

function ownFormat(): string {
  const dir = path.join(root, "own");
  if (fs.existsSync(dir)) return dir;
  const w = HiddenStateWriter.open(dir, { model: { name: "m", family: "llama", n_layers: N_STATES - 1, d_model: D }, dtype: "float32" });
  const first = makeBatch(LENGTHS.slice(0, 3), 0, N_STATES, D); // shard boundary inside the sample list
  w.append(first.samples, first.states);
  const second = makeBatch(LENGTHS.slice(3), 7, N_STATES, D);
  w.append(second.samples, second.states);
  w.finish();
  return dir;
}

function originalLayout(): string {
  const dir = path.join(root, "orig");
  if (fs.existsSync(dir)) return dir;
  let offset = 0;
  LENGTHS.forEach((len, i) => {
    for (let b = 0; b < N_STATES; b++) {
      fs.mkdirSync(path.join(dir, `block${b}`), { recursive: true });
      const data = Array.from({ length: len * D }, (_, k) => value(b, offset + Math.floor(k / D), k % D));
      writeNpy(path.join(dir, `block${b}`, `s${i}.npy`), { dtype: "float32", shape: [len, D], data });
    }
    offset += len;
  });
  return dir;
}

describe("ConsecutiveOutputsDataset", () => {
  const roots: [string, () => string][] = [
    ["own format", ownFormat],
    ["original layout", originalLayout],
  ];
  for (const [label, make] of roots) {
    it(`matches a brute-force enumeration (${label}) for every numLayers, numSamples, n`, () => {
      const dir = make();
      for (const numLayers of [2, 4, N_STATES]) {
        for (const numSamples of [1, 3, 4]) {
          for (let n = 0; n <= numLayers - 2; n++) {
            const ds = new ConsecutiveOutputsDataset(dir, numLayers, numSamples, n);
            const want = bruteForce(numLayers, numSamples, n);
            expect(ds.length).toBe(want.length);
            const byIndex = want.map((_, i) => {
              const it = ds.get(i);
              return { x: Array.from(it.x), v1: Array.from(it.v1), v2: Array.from(it.v2), blocks: it.blocks };
            });
            expect(byIndex).toEqual(want);
            const iterated = [...ds].map((it) => ({ x: Array.from(it.x), v1: Array.from(it.v1), v2: Array.from(it.v2), blocks: it.blocks }));
            expect(iterated).toEqual(want);
          }
        }
      }
    });
  }

  it("chunks cover the items in order, and stateTensor gives [tokens, d_model]", () => {
    const ds = new ConsecutiveOutputsDataset(HiddenStateDataset.open(ownFormat()), N_STATES, 3, 2);
    const want = bruteForce(N_STATES, 3, 2);
    let index = 0;
    for (const c of ds.chunks({ rows: 4 })) {
      expect(c.index).toBe(index);
      for (let r = 0; r < c.rows; r++) {
        expect(Array.from(c.x.slice(r * D, (r + 1) * D))).toEqual(want[index + r].x);
        expect(Array.from(c.v2.slice(r * D, (r + 1) * D))).toEqual(want[index + r].v2);
        expect(c.blocks).toEqual(want[index + r].blocks);
      }
      index += c.rows;
    }
    expect(index).toBe(ds.length);
    const t = ds.stateTensor(5);
    expect(t.shape).toEqual([7, D]);
    expect(Array.from(t.dataSync())).toEqual(Array.from({ length: 7 * D }, (_, k) => value(5, Math.floor(k / D), k % D)));
    t.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it("validates its arguments and indices with the valid range", () => {
    const dir = ownFormat();
    expect(() => new ConsecutiveOutputsDataset(dir, 8, 1, 0)).toThrow(/numLayers must be an integer in 2\.\.7 \(the dataset has 7 states\), got 8/);
    expect(() => new ConsecutiveOutputsDataset(dir, 1, 1, 0)).toThrow(/numLayers must be an integer in 2\.\.7/);
    expect(() => new ConsecutiveOutputsDataset(dir, 7, 5, 0)).toThrow(/numSamples must be an integer in 1\.\.4 \(samples available\), got 5/);
    expect(() => new ConsecutiveOutputsDataset(dir, 7, 0, 0)).toThrow(/numSamples must be an integer in 1\.\.4/);
    expect(() => new ConsecutiveOutputsDataset(dir, 7, 1, 6)).toThrow(/n must be an integer in 0\.\.5 for numLayers=7 \(state b\+n\+1 must exist\), got 6/);
    expect(() => new ConsecutiveOutputsDataset(dir, 7, 1, -1)).toThrow(/n must be an integer in 0\.\.5/);
    expect(() => new ConsecutiveOutputsDataset(path.join(root, "none"), 7, 1, 0)).toThrow(/none: no such folder/);
    const ds = new ConsecutiveOutputsDataset(dir, 4, 2, 1); // b in 0..1, 6 tokens -> 12 items
    expect(ds.length).toBe(12);
    expect(() => ds.get(12)).toThrow(/index 12 out of range 0\.\.11/);
    expect(() => ds.get(-1)).toThrow(/index -1 out of range 0\.\.11/);
    expect(() => ds.get(1.5)).toThrow(/index 1\.5 out of range/);
    expect(() => ds.stateTensor(4)).toThrow(/state 4 out of range 0\.\.3/);
    expect(() => ds.blocksOf(2)).toThrow(/starting state 2 out of range 0\.\.1/);
  });
});
