import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { writeNpy } from "../../lib/io/npy";
import { writeSafetensors } from "../../lib/io/safetensors";
import { f16BitsToF32, f32ToF16Bits } from "../../lib/io/f16";
import { expectedRows, tempDir, value } from "./helpers";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const D = 4;

/** Write the original layout by hand: block{b}/s{i}.<ext>, sample i holding lengths[i] tokens. */
function writeOriginal(
  name: string,
  nStates: number,
  lengths: number[],
  ext: (b: number, i: number) => "npy" | "safetensors" | "f16.npy",
): string {
  const dir = path.join(root, name);
  let offset = 0;
  const offsets = lengths.map((l) => ((offset += l), offset - l));
  for (let b = 0; b < nStates; b++) {
    fs.mkdirSync(path.join(dir, `block${b}`), { recursive: true });
    lengths.forEach((len, i) => {
      const data = new Float32Array(len * D);
      for (let r = 0; r < len; r++) for (let j = 0; j < D; j++) data[r * D + j] = value(b, offsets[i] + r, j);
      const kind = ext(b, i);
      if (kind === "safetensors") {
        writeSafetensors(path.join(dir, `block${b}`, `s${i}.safetensors`), { hidden: { dtype: "F32", shape: [len, D], data } });
      } else {
        writeNpy(path.join(dir, `block${b}`, `s${i}.npy`), { dtype: kind === "npy" ? "float32" : "float16", shape: [len, D], data });
      }
    });
  }
  return dir;
}

describe("the original block{b}/s{i} layout", () => {
  it("reads .npy and .safetensors files (mixed), sample by sample, in order", () => {
    const lengths = [3, 1, 5, 2];
    const dir = writeOriginal("mixed", 5, lengths, (b, i) => ((b + i) % 2 === 0 ? "npy" : "safetensors"));
    const ds = HiddenStateDataset.open(dir);
    expect([ds.layout, ds.nStates, ds.nLayers, ds.dModel, ds.nTokens, ds.complete]).toEqual(["original", 5, 4, D, 11, true]);
    expect(ds.samples.map((s) => [s.nTokens, s.offset])).toEqual([[3, 0], [1, 3], [5, 4], [2, 9]]);
    expect(ds.samples[2].source).toBe(path.join("block0", "s2.npy"));
    for (let b = 0; b < 5; b++) {
      expect(Array.from(ds.state(b))).toEqual(expectedRows(b, 0, 11, D));
      expect(Array.from(ds.rows(b, 2, 10))).toEqual(expectedRows(b, 2, 10, D));
    }
    const starts = [...ds.chunks({ rows: 4, states: [4] })].map((c) => c.start);
    expect(starts).toEqual([0, 4, 8]);
    expect(ds.tokenIds()).toBeUndefined();
    expect(ds.tags()).toBeUndefined();
  });

  it("reads float16 .npy and [1, tokens, d_model] arrays", () => {
    const dir = writeOriginal("f16", 3, [2, 2], () => "f16.npy");
    const round = (x: number) => f16BitsToF32(f32ToF16Bits(x));
    const ds = HiddenStateDataset.open(dir);
    expect(ds.dtype).toBe("float16");
    expect(Array.from(ds.state(2))).toEqual(expectedRows(2, 0, 4, D, round));
    const b3 = path.join(root, "batch1");
    for (let b = 0; b < 2; b++) {
      fs.mkdirSync(path.join(b3, `block${b}`), { recursive: true });
      writeNpy(path.join(b3, `block${b}`, "s0.npy"), { dtype: "float32", shape: [1, 2, D], data: expectedRows(b, 0, 2, D) });
    }
    expect(Array.from(HiddenStateDataset.open(b3).state(1))).toEqual(expectedRows(1, 0, 2, D));
  });

  it("reports layout errors with the file or folder", () => {
    const pt = writeOriginal("pt", 2, [2], () => "npy");
    fs.writeFileSync(path.join(pt, "block1", "s1.pt"), "pickle");
    expect(() => HiddenStateDataset.open(pt)).toThrow(/block1.s1\.pt: PyTorch pickles cannot be read here/);

    const gap = writeOriginal("gap", 2, [2, 2, 2], () => "npy");
    fs.rmSync(path.join(gap, "block1", "s1.npy"));
    expect(() => HiddenStateDataset.open(gap)).toThrow(/block1: sample files must be s0\.\.s1; s1 is missing/);

    const count = writeOriginal("count", 2, [2, 2], () => "npy");
    fs.rmSync(path.join(count, "block1", "s1.npy"));
    expect(() => HiddenStateDataset.open(count)).toThrow(/block1: has 1 samples but block0 has 2/);

    const tokens = writeOriginal("tokens", 3, [2, 3], () => "npy");
    writeNpy(path.join(tokens, "block2", "s1.npy"), { dtype: "float32", shape: [4, D], data: new Float32Array(4 * D) });
    expect(() => HiddenStateDataset.open(tokens)).toThrow(/block2.s1\.npy: has 4 tokens but .*block0.s1\.npy has 3/);

    const width = writeOriginal("width", 2, [2], () => "npy");
    writeNpy(path.join(width, "block1", "s0.npy"), { dtype: "float32", shape: [2, D + 1], data: new Float32Array(2 * (D + 1)) });
    expect(() => HiddenStateDataset.open(width)).toThrow(/block1.s0\.npy: d_model is 5 but .*block0.s0\.npy has 4/);

    const one = writeOriginal("one", 1, [2], () => "npy");
    expect(() => HiddenStateDataset.open(one)).toThrow(/needs at least two block folders/);

    const hole = writeOriginal("hole", 2, [2], () => "npy");
    fs.cpSync(path.join(hole, "block1"), path.join(hole, "block3"), { recursive: true });
    expect(() => HiddenStateDataset.open(hole)).toThrow(/block folders must be block0\.\.block1 with no gap; found block3/);

    const rank = writeOriginal("rank", 2, [2], () => "npy");
    writeNpy(path.join(rank, "block1", "s0.npy"), { dtype: "float32", shape: [8], data: new Float32Array(8) });
    expect(() => HiddenStateDataset.open(rank)).toThrow(/block1.s0\.npy: expected shape \[tokens, d_model\], got \[8\]/);

    const ints = writeOriginal("ints", 2, [2], () => "npy");
    writeNpy(path.join(ints, "block0", "s0.npy"), { dtype: "int32", shape: [2, D], data: new Int32Array(2 * D) });
    expect(() => HiddenStateDataset.open(ints)).toThrow(/block0.s0\.npy: expected a float \[tokens, d_model\] matrix, got dtype int32/);

    const two = writeOriginal("two", 2, [2], () => "safetensors");
    writeSafetensors(path.join(two, "block0", "s0.safetensors"), {
      a: { dtype: "F32", shape: [2, D], data: new Float32Array(2 * D) },
      b: { dtype: "F32", shape: [2, D], data: new Float32Array(2 * D) },
    });
    expect(() => HiddenStateDataset.open(two)).toThrow(/block0.s0\.safetensors: expected exactly one tensor, found 2 \(a, b\)/);

    const empty = path.join(root, "emptyblock");
    fs.mkdirSync(path.join(empty, "block0"), { recursive: true });
    fs.mkdirSync(path.join(empty, "block1"), { recursive: true });
    expect(() => HiddenStateDataset.open(empty)).toThrow(/block0: no s\{i\}\.npy or s\{i\}\.safetensors files/);
  });
});
