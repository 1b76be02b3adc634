import { describe, expect, it } from "vitest";
import { splitTrainTest } from "../../lib/probes/split";
import { mulberry32, permutation } from "../../lib/probes/random";

describe("mulberry32 / permutation", () => {
  it("gives the same stream for the same seed and a different one for another seed", () => {
    const a = mulberry32(7), b = mulberry32(7), c = mulberry32(8);
    const sa = Array.from({ length: 5 }, a), sb = Array.from({ length: 5 }, b), sc = Array.from({ length: 5 }, c);
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it("is roughly uniform on [0, 1)", () => {
    const r = mulberry32(1);
    const n = 20000;
    let sum = 0, min = 1, max = 0;
    for (let i = 0; i < n; i++) { const v = r(); sum += v; min = Math.min(min, v); max = Math.max(max, v); }
    // mean of U(0,1) is 0.5 with standard error 0.289/sqrt(n) = 0.002
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
  });

  it("permutation holds every index once", () => {
    const p = permutation(1000, mulberry32(3));
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("rejects a non-integer seed", () => {
    expect(() => mulberry32(0.5)).toThrow(/mulberry32: 'seed' expected an integer, got 0.5/);
  });
});

describe("splitTrainTest", () => {
  it("splits 70/30 into disjoint sorted sets that cover every row", () => {
    const { train, test } = splitTrainTest(1000, { seed: 42 });
    expect(test.length).toBe(300);
    expect(train.length).toBe(700);
    const all = new Set([...train, ...test]);
    expect(all.size).toBe(1000);
    for (let i = 1; i < train.length; i++) expect(train[i]).toBeGreaterThan(train[i - 1]);
    for (let i = 1; i < test.length; i++) expect(test[i]).toBeGreaterThan(test[i - 1]);
  });

  it("is reproducible for a seed, and differs between seeds", () => {
    const a = splitTrainTest(500, { seed: 1 });
    const b = splitTrainTest(500, { seed: 1 });
    const c = splitTrainTest(500, { seed: 2 });
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.test)).not.toEqual(Array.from(c.test));
  });

  it("draws the test rows from the whole range, not a block", () => {
    const { test } = splitTrainTest(10000, { seed: 5 });
    const firstHalf = Array.from(test).filter((i) => i < 5000).length;
    // Binomial(3000, 0.5): mean 1500, sd 27
    expect(Math.abs(firstHalf - 1500)).toBeLessThan(150);
  });

  it("honours testFraction and keeps at least one row on each side", () => {
    expect(splitTrainTest(10, { testFraction: 0.5 }).test.length).toBe(5);
    expect(splitTrainTest(2, { testFraction: 0.01 }).test.length).toBe(1);
    expect(splitTrainTest(2, { testFraction: 0.99 }).train.length).toBe(1);
  });

  it("rejects bad arguments with one-line messages", () => {
    expect(() => splitTrainTest(1)).toThrow(/splitTrainTest: 'n' expected an integer >= 2 \(rows to split\), got 1/);
    expect(() => splitTrainTest(10.5)).toThrow(/'n' expected an integer >= 2/);
    expect(() => splitTrainTest(10, { testFraction: 1 })).toThrow(/'testFraction' expected a number in \(0, 1\), got 1/);
    expect(() => splitTrainTest(10, { testFraction: 0 })).toThrow(/'testFraction'/);
    expect(() => splitTrainTest(10, { seed: 1.5 })).toThrow(/'seed' expected an integer/);
  });
});
