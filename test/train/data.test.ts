import { describe, expect, it } from "vitest";
import { byteStream, evalWindows, randomBatch, sliceBatch } from "../../lib/train/data";
import { Rng } from "../../lib/train/random";
import { learningRate } from "../../lib/train/schedule";

describe("byte stream and batches", () => {
  const stream = byteStream(["abcdef", "ghij"]); // "abcdef\n\nghij"

  it("joins documents with a blank line, as UTF-8 bytes", () => {
    expect(Buffer.from(stream).toString("utf8")).toBe("abcdef\n\nghij");
    expect(Array.from(byteStream(["é"]))).toEqual([0xc3, 0xa9]);
  });

  it("puts BOS first and shifts targets by one", () => {
    const rng = new Rng(7);
    const b = randomBatch(stream, rng, 3, 4, 256);
    expect(b.ids.length).toBe(12);
    for (let row = 0; row < 3; row++) {
      const ids = Array.from(b.ids.subarray(row * 4, row * 4 + 4));
      const targets = Array.from(b.targets.subarray(row * 4, row * 4 + 4));
      expect(ids[0]).toBe(256);
      expect(ids.slice(1)).toEqual(targets.slice(0, 3));
      // The targets are a contiguous window of the stream.
      const text = Buffer.from(targets).toString("latin1");
      expect(Buffer.from(stream).toString("latin1")).toContain(text);
    }
  });

  it("is reproducible from the RNG state", () => {
    const a = new Rng(3);
    randomBatch(stream, a, 2, 4, 256);
    const resumed = Rng.fromState(a.state);
    const next1 = randomBatch(stream, a, 2, 4, 256);
    const next2 = randomBatch(stream, resumed, 2, 4, 256);
    expect(Array.from(next1.targets)).toEqual(Array.from(next2.targets));
  });

  it("draws every start position, including the last one", () => {
    const rng = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(randomBatch(stream, rng, 1, 4, 256).targets[0]);
    // Windows of 4 bytes start at 0..8: first bytes a,b,c,d,e,f,\n,\n,g.
    expect(seen).toEqual(new Set(Buffer.from("abcdef\ng", "latin1")));
  });

  it("gives fixed, evenly spread evaluation windows", () => {
    const w = evalWindows(stream, 4, 256);
    expect(w.batch).toBe(3); // 12 bytes / 4
    expect(Buffer.from(w.targets).toString("latin1")).toBe("abcdef\n\nghij"); // starts 0, 4, 8
    const two = evalWindows(stream, 4, 256, 2);
    expect(Buffer.from(two.targets).toString("latin1")).toBe("abcd" + "ghij");
    const s = sliceBatch(two, 1, 5);
    expect(s.batch).toBe(1);
    expect(Array.from(s.ids)).toEqual([256, 103, 104, 105]);
  });

  it("rejects sizes that do not fit", () => {
    expect(() => randomBatch(stream, new Rng(0), 0, 4, 256)).toThrow(/'batch' expected an integer >= 1, got 0/);
    expect(() => randomBatch(stream, new Rng(0), 1, 99, 256)).toThrow(/the text has 12 bytes, fewer than one sequence of pos=99/);
    expect(() => evalWindows(stream, 99, 256)).toThrow(/fewer than one sequence/);
    expect(() => new Rng(1.5)).toThrow(/'seed' expected an integer/);
    expect(() => Rng.fromState(-1)).toThrow(/expected a uint32/);
  });
});

describe("learning-rate schedule", () => {
  const o = { lr: 1e-3, minLr: 1e-4, warmup: 10, steps: 110 };
  it("warms up linearly, then decays by a cosine to minLr", () => {
    expect(Math.abs(learningRate(1, o) - 1e-4)).toBeLessThan(1e-15);
    expect(Math.abs(learningRate(10, o) - 1e-3)).toBeLessThan(1e-15);
    // Halfway through the decay: (lr + minLr) / 2.
    expect(Math.abs(learningRate(60, o) - 5.5e-4)).toBeLessThan(1e-15);
    expect(Math.abs(learningRate(110, o) - 1e-4)).toBeLessThan(1e-15);
    const noWarmup = learningRate(5, { ...o, warmup: 0 });
    expect(Math.abs(noWarmup - (1e-4 + 0.45e-3 * (1 + Math.cos((Math.PI * 5) / 110))))).toBeLessThan(1e-15);
  });
});
