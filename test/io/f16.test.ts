import { describe, expect, it } from "vitest";
import * as path from "path";
import {
  bf16BitsToF32,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from "../../lib/io/f16";
import { readNpy } from "../../lib/io/npy";
import { FIXTURES } from "./helpers";

describe("float16", () => {
  it("encodes known bit patterns", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite
      [65519, 0x7bff], // just below the tie with infinity
      [65520, 0x7c00], // tie between 65504 and 65536 -> even -> Inf
      [1e6, 0x7c00],
      [-1e6, 0xfc00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24 -> even -> 0
      [3 * 2 ** -26, 0x0001], // 0.75 of the smallest subnormal -> rounds up
      [1023.5 * 2 ** -24, 0x0400], // tie between largest subnormal (odd) and smallest normal
      [1 + 2 ** -11, 0x3c00], // tie -> even (1.0)
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
      [1 / 3, 0x3555],
      [0.1, 0x2e66],
    ];
    for (const [v, bits] of cases) {
      expect([v, f32ToF16Bits(v).toString(16)]).toEqual([v, bits.toString(16)]);
    }
  });

  it("keeps NaN a NaN in both directions", () => {
    const b = f32ToF16Bits(NaN);
    expect((b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0).toBe(true);
    expect(Number.isNaN(f16BitsToF32(0x7e00))).toBe(true);
    expect(Number.isNaN(f16BitsToF32(0xfc01))).toBe(true);
  });

  it("decodes known bit patterns exactly", () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
  });

  it("round-trips every non-NaN float16 bit pattern", () => {
    let bad = 0;
    for (let b = 0; b < 65536; b++) {
      const isNaN = (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
      if (!isNaN && f32ToF16Bits(f16BitsToF32(b)) !== b) bad++;
    }
    expect(bad).toBe(0);
  });

  it("matches numpy's float32 -> float16 cast on 872 reference values (subnormals, ties, overflow)", () => {
    const input = readNpy(path.join(FIXTURES, "f16_ref_in.npy")).data as Float32Array;
    const bits = readNpy(path.join(FIXTURES, "f16_ref_bits.npy")).data as Int32Array;
    expect(input.length).toBe(bits.length);
    const got = encodeF16(input);
    const mismatches = [];
    for (let k = 0; k < input.length; k++) if (got[k] !== bits[k]) mismatches.push([input[k], got[k], bits[k]]);
    expect(mismatches).toEqual([]);
    // Decoding the bulk way agrees with the scalar way.
    const dec = decodeF16(got);
    for (let k = 0; k < input.length; k++) expect(Object.is(dec[k], f16BitsToF32(got[k]))).toBe(true);
  });
});

describe("bfloat16", () => {
  /** Independent reference: pick the nearer of the two neighbouring bf16 values in float64. */
  function refBf16(v: number): number {
    const f = new Float32Array([v]);
    const u = new Uint32Array(f.buffer)[0];
    const lo = u >>> 16;
    const hi = (lo + 1) & 0xffff;
    const dlo = Math.abs(v - bf16BitsToF32(lo));
    const dhi = Math.abs(v - bf16BitsToF32(hi));
    if (!Number.isFinite(bf16BitsToF32(hi)) && Number.isFinite(bf16BitsToF32(lo))) {
      // Rounding past the largest finite goes to infinity only from the halfway point on.
      const maxFinite = bf16BitsToF32(lo);
      const step = maxFinite - bf16BitsToF32(lo - 1);
      return Math.abs(v) >= Math.abs(maxFinite) + step / 2 ? hi : lo;
    }
    if (dlo < dhi) return lo;
    if (dhi < dlo) return hi;
    return lo % 2 === 0 ? lo : hi;
  }

  it("encodes known bit patterns", () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-2)).toBe(0xc000);
    expect(f32ToBf16Bits(Infinity)).toBe(0x7f80);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie -> even (up)
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds to Inf
    const nan = f32ToBf16Bits(NaN);
    expect(Number.isNaN(bf16BitsToF32(nan))).toBe(true);
  });

  it("agrees with a nearest-value reference on random and tie values", () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const vals: number[] = [];
    for (let k = 0; k < 3000; k++) vals.push((rand() - 0.5) * 10 ** Math.floor(rand() * 80 - 40));
    for (let k = 0; k < 200; k++) vals.push(Math.fround(1 + k * 2 ** -9)); // many exact ties
    for (const v of vals) {
      const x = Math.fround(v);
      expect([x, f32ToBf16Bits(x)]).toEqual([x, refBf16(x)]);
    }
    const enc = encodeBf16(vals);
    const dec = decodeBf16(enc);
    for (let k = 0; k < vals.length; k++) expect(dec[k]).toBe(bf16BitsToF32(enc[k]));
  });
});
