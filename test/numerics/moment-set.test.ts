/**
 * Per-unit moments: the one-pass accumulator against float64 sums written here, and the merge
 * rules (Chan's update, the leave-one-out downdate, merging sets of shards) against direct
 * accumulation of the same rows.
 */
import { describe, expect, it } from "vitest";
import { MomentAccumulator } from "../../lib/numerics/moment-accumulator";
import { type MomentSet, cloneUnit, combineInto, mergeMomentSets, totalOf } from "../../lib/numerics/moment-set";
import { gaussianMatrix } from "./reference";

const n = 300, dims = [4, 3];

function data() {
  const a = Float32Array.from(gaussianMatrix(n, 4, 11).flat(), (v, k) => v + (k % 4 === 1 ? 1e3 : 0));
  const b = Float32Array.from(gaussianMatrix(n, 3, 12).flat(), (v, k) => v * (1 + (k % 3)) - 7);
  const groups = Int32Array.from({ length: n }, (_, t) => [3, 0, 5, 2][Math.floor((t * 4) / n)] + (t % 50 === 0 ? 10 : 0));
  return { states: [a, b], groups };
}

function accumulate(states: Float32Array[], groups: Int32Array, from: number, to: number, unitRule: MomentSet["unitRule"], native = true): MomentSet {
  const acc = new MomentAccumulator({ fn: "t", states: dims.map((dim, s) => ({ name: `s${s}`, dim, dtype: "float32" })), products: [[0, 0], [0, 1], [1, 1]], unitRule, native });
  for (let r0 = from; r0 < to; r0 += 64) {
    const r1 = Math.min(to, r0 + 64);
    acc.add(states.map((x, s) => x.subarray(r0 * dims[s], r1 * dims[s])), groups.subarray(r0, r1));
  }
  return acc.result();
}

/** Centred float64 moments of the rows `keep` selects, by direct two-pass loops. */
function direct(states: Float32Array[], keep: (t: number) => boolean) {
  const idx = Array.from({ length: n }, (_, t) => t).filter(keep);
  const means = dims.map((d, s) => Float64Array.from({ length: d }, (_, c) => idx.reduce((a, t) => a + states[s][t * d + c], 0) / idx.length));
  const block = (i: number, j: number) => {
    const out = new Float64Array(dims[i] * dims[j]);
    for (const t of idx) for (let p = 0; p < dims[i]; p++) for (let q = 0; q < dims[j]; q++) out[p * dims[j] + q] += (states[i][t * dims[i] + p] - means[i][p]) * (states[j][t * dims[j] + q] - means[j][q]);
    return out;
  };
  return { count: idx.length, means, blocks: [block(0, 0), block(0, 1), block(1, 1)] };
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number) {
  expect(a.length).toBe(b.length);
  let scale = 1;
  for (let k = 0; k < b.length; k++) scale = Math.max(scale, Math.abs(b[k]));
  for (let k = 0; k < b.length; k++) expect(Math.abs(a[k] - b[k]) / scale).toBeLessThan(tol);
}

describe("MomentAccumulator and merging", () => {
  const { states, groups } = data();
  for (const native of [true, false]) {
    it(`per-group moments equal direct float64 sums (${native ? "native BLAS where loaded" : "JavaScript"})`, () => {
      const set = accumulate(states, groups, 0, n, { kind: "group" }, native);
      expect(set.units.map((u) => u.id)).toEqual([...new Set(groups)].sort((a, b) => a - b));
      for (const u of set.units) {
        const ref = direct(states, (t) => groups[t] === u.id);
        expect(u.count).toBe(ref.count);
        u.means.forEach((m, s) => expectClose(m, ref.means[s], 1e-13));
        u.blocks.forEach((b, k) => expectClose(b, ref.blocks[k], 1e-12));
        expect(Math.abs(u.sumSquares[0] - ref.blocks[0].reduce((a, v, k) => a + (k % 5 === 0 ? v : 0), 0))).toBeLessThan(1e-9);
      }
    });
  }

  it("the total (Chan's update over units) and a leave-one-out (its downdate) equal direct sums", () => {
    const set = accumulate(states, groups, 0, n, { kind: "group" });
    const total = totalOf(set), ref = direct(states, () => true);
    expect(total.count).toBe(n);
    total.blocks.forEach((b, k) => expectClose(b, ref.blocks[k], 1e-12));
    const out = cloneUnit(total);
    combineInto(set, out, set.units[1], -1);
    const refOut = direct(states, (t) => groups[t] !== set.units[1].id);
    expect(out.count).toBe(refOut.count);
    out.means.forEach((m, s) => expectClose(m, refOut.means[s], 1e-12));
    out.blocks.forEach((b, k) => expectClose(b, refOut.blocks[k], 1e-11));
  });

  it("merging the sets of two shards (a document split across them) equals one pass", () => {
    const whole = accumulate(states, groups, 0, n, { kind: "group mod", modulus: 4 });
    const merged = mergeMomentSets([accumulate(states, groups, 0, 137, { kind: "group mod", modulus: 4 }), accumulate(states, groups, 137, n, { kind: "group mod", modulus: 4 })]);
    expect(merged.units.map((u) => u.id)).toEqual(whole.units.map((u) => u.id));
    merged.units.forEach((u, k) => {
      expect(u.count).toBe(whole.units[k].count);
      u.blocks.forEach((b, p) => expectClose(b, whole.units[k].blocks[p], 1e-12));
      u.means.forEach((m, s) => expectClose(m, whole.units[k].means[s], 1e-13));
    });
  });

  it("refuses to merge sets of different layouts, and bad group ids", () => {
    const a = accumulate(states, groups, 0, 100, { kind: "group mod", modulus: 4 });
    const b = accumulate(states, groups, 100, 200, { kind: "group mod", modulus: 5 });
    expect(() => mergeMomentSets([a, b])).toThrow("units by group mod 4 against group mod 5");
    const acc = new MomentAccumulator({ fn: "t", states: [{ name: "x", dim: 1, dtype: "float32" }], products: [[0, 0]], unitRule: { kind: "group" } });
    expect(() => acc.add([new Float32Array([1, 2])], [0, -1])).toThrow("t: group id -1 at row 1 is not a non-negative integer");
    expect(() => acc.add([new Float32Array([1, NaN])], [0, 0])).toThrow("t: 'x' has NaN at row 1, column 0");
  });
});
