import { describe, expect, it } from "vitest";
import { groupMeans, indicesWhere } from "../../lib/analysis/groups";

describe("groupMeans", () => {
  it("averages per label over finite values, sorted by count then label", () => {
    const values = [1, 2, 3, NaN, 10, 20, 5];
    const labels = ["nn", "nn", "nn", "nn", "vb", "vb", "at"];
    expect(groupMeans(values, labels)).toEqual([
      { label: "nn", count: 3, mean: 2 },
      { label: "vb", count: 2, mean: 15 },
      { label: "at", count: 1, mean: 5 },
    ]);
    expect(groupMeans(values, labels, { minCount: 2 }).map((g) => g.label)).toEqual(["nn", "vb"]);
    expect(groupMeans([1, 2], ["b", "a"]).map((g) => g.label)).toEqual(["a", "b"]);
  });

  it("rejects mismatched lengths and a bad minCount", () => {
    expect(() => groupMeans([1, 2], ["a"])).toThrow(/groupMeans: 'labels' expected 2 entries \(one per value\), got 1/);
    expect(() => groupMeans([1], ["a"], { minCount: 0 })).toThrow(/groupMeans: 'minCount' expected a positive integer, got 0/);
  });
});

describe("indicesWhere", () => {
  it("returns the matching indices in order", () => {
    expect(Array.from(indicesWhere(Int32Array.from([256, 72, 105, 256, 33]), (id) => id !== 256))).toEqual([1, 2, 4]);
    expect(Array.from(indicesWhere(["a", "b", "a"], (l, i) => l === "a" && i > 0))).toEqual([2]);
  });
});
