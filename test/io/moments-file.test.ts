/** The moments file: a write / read round trip is bit-exact, and a file that is not one is refused by name. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { isMomentsFile, readMomentsFile, writeMomentsFile } from "../../lib/io/moments-file";
import { writeSafetensors } from "../../lib/io/safetensors";
import { MomentAccumulator } from "../../lib/numerics/moment-accumulator";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "moments-file-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("moments file", () => {
  it("round-trips every float64 bit, the layout and the unit rule", () => {
    const acc = new MomentAccumulator({ fn: "t", states: [{ name: "a", dim: 3, dtype: "float16" }, { name: "b", dim: 2, dtype: "bfloat16" }], products: [[0, 0], [0, 1]], unitRule: { kind: "group mod", modulus: 3, groupsFrom: "documents" } });
    acc.add([Float32Array.from({ length: 30 }, (_, k) => Math.sin(k) * 1e3), Float32Array.from({ length: 20 }, (_, k) => Math.cos(k * 1.7))], [0, 0, 1, 1, 1, 2, 4, 4, 5, 5]);
    const set = acc.result();
    const file = path.join(dir, "m.safetensors");
    writeMomentsFile(file, set, "test");
    expect(isMomentsFile(file)).toBe(true);
    const back = readMomentsFile(file);
    expect(back.states).toEqual(set.states);
    expect(back.products).toEqual(set.products);
    expect(back.unitRule).toEqual(set.unitRule);
    expect(back.source).toBe("test");
    expect(back.units.map((u) => u.id)).toEqual([0, 1, 2]);
    back.units.forEach((u, k) => {
      expect(u.count).toBe(set.units[k].count);
      expect(Array.from(u.sumSquares)).toEqual(Array.from(set.units[k].sumSquares));
      u.means.forEach((m, s) => expect(Array.from(m)).toEqual(Array.from(set.units[k].means[s])));
      u.blocks.forEach((b, p) => expect(Array.from(b)).toEqual(Array.from(set.units[k].blocks[p])));
    });
  });

  it("refuses a safetensors file that is not a moments file", () => {
    const file = path.join(dir, "other.safetensors");
    writeSafetensors(file, { w: { dtype: "F32", shape: [2], data: [1, 2] } });
    expect(isMomentsFile(file)).toBe(false);
    expect(() => readMomentsFile(file)).toThrow(`${file}: not a moments file (format is missing); write one with 'linearity moments'`);
  });
});
