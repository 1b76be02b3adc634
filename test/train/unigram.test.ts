import { describe, expect, it } from "vitest";
import { byteCounts, natsToBitsPerByte, unigramLoss, unigramProbabilities } from "../../lib/train/unigram";

describe("unigram baseline", () => {
  it("uses add-one smoothing over 256 byte values", () => {
    // "aab": counts a=2, b=1, N=3 -> p(a) = 3/259, p(b) = 2/259, p(other) = 1/259.
    const counts = byteCounts(new Uint8Array([97, 97, 98]));
    const p = unigramProbabilities(counts);
    expect(Math.abs(p[97] - 3 / 259)).toBeLessThan(1e-15);
    expect(Math.abs(p[98] - 2 / 259)).toBeLessThan(1e-15);
    expect(Math.abs(p[0] - 1 / 259)).toBeLessThan(1e-15);
    let total = 0;
    for (const x of p) total += x;
    expect(Math.abs(total - 1)).toBeLessThan(1e-12);
    // Held-out "ab c": -(ln 3/259 + ln 2/259 + ln 1/259 + ln 1/259) / 4, computed by hand.
    const want = -(Math.log(3 / 259) + Math.log(2 / 259) + 2 * Math.log(1 / 259)) / 4;
    expect(Math.abs(unigramLoss(p, [97, 98, 32, 99]) - want)).toBeLessThan(1e-12);
  });

  it("converts nats per byte to bits per byte by ln 2", () => {
    expect(Math.abs(natsToBitsPerByte(Math.LN2) - 1)).toBeLessThan(1e-15);
    expect(Math.abs(natsToBitsPerByte(Math.log(256)) - 8)).toBeLessThan(1e-12);
  });

  it("rejects bad input", () => {
    expect(() => unigramProbabilities(new Float64Array(10))).toThrow(/expected 256 counts, got 10/);
    const p = unigramProbabilities(new Float64Array(256));
    expect(() => unigramLoss(p, [])).toThrow(/no targets/);
    expect(() => unigramLoss(p, [1, 256])).toThrow(/target 1 is 256, expected a byte value 0..255/);
  });
});
