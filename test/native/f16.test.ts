/**
 * The addon's float16 encoder (native/convert.c encodeF16, vector and scalar routes) against the
 * JavaScript encoder of lib/io/f16.ts, bit for bit, on each route the CPU has (scalar, AVX2 +
 * F16C, AVX-512): around every float16 value and every rounding
 * midpoint, every float32 exponent with the mantissas where rounding turns, and 10M random bit
 * patterns; and the index of the first value float16 holds no finite value for. Skipped, with a
 * notice, where the native addon is unavailable or was built before encodeF16.
 */
import { describe, expect, it } from "vitest";
import { encodeF16Js } from "../../lib/io/f16";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";

const memory = nativeBlas()?.memory;
const runs = memory?.encodeF16 !== undefined && memory.findNonFinite !== undefined;
if (!runs) console.warn(`test/native/f16.test.ts: SKIPPED, ${nativeBlas() === undefined ? nativeBlasStatus() : "the addon predates encodeF16 (npm run build:native)"}`);

/** The C routes this CPU runs (encodeF16's `route`: 1 scalar, 2 AVX2 + F16C, 3 AVX-512). */
const routes = runs ? [1, 2, 3].filter((r) => memory!.encodeF16!(new Float32Array(1), new Uint16Array(1), r) !== -2) : [];

/** Encode the float32 bit patterns `bits` in JavaScript and on every C route; expect the same bits and first index. */
function expectSame(bits: Uint32Array): void {
  const values = new Float32Array(bits.buffer, bits.byteOffset, bits.length);
  const js = new Uint16Array(bits.length);
  const firstJs = encodeF16Js(values, js);
  for (const route of [0, ...routes]) {
    const c = new Uint16Array(bits.length).fill(0xaaaa);
    const firstC = memory!.encodeF16!(values, c, route);
    let at = -1;
    for (let i = 0; i < bits.length && at < 0; i++) if (js[i] !== c[i]) at = i;
    const show = (i: number) => `route ${route}, 0x${bits[i].toString(16)}: js 0x${js[i].toString(16)}, c 0x${c[i].toString(16)}`;
    expect(at < 0 ? "same" : show(at)).toBe("same");
    expect([route, firstC]).toEqual([route, firstJs]);
  }
}

/** The first index whose |value| is not below 65520 (NaN included), computed without either encoder. */
function firstUnstorable(values: Float32Array): number {
  return values.findIndex((v) => !(Math.abs(v) < 65520));
}

describe.skipIf(!runs)("native float16 encoder", () => {
  it("runs the scalar route everywhere and the vector routes the CPU has", () => {
    expect(routes[0]).toBe(1);
    if (process.arch === "x64") console.log(`test/native/f16.test.ts: C routes checked: ${routes.join(", ")} (1 scalar, 2 F16C, 3 AVX-512)`);
  });

  it("equals the JavaScript encoder around every float16 value and every rounding midpoint", () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const centres: number[] = [];
    for (let h = 0; h < 0x7c00; h++) {
      // The float16 value itself, and the midpoint to the next one (exact in float32).
      const v = (h >> 10 === 0 ? h * 2 ** -24 : (1 + (h & 0x3ff) / 1024) * 2 ** ((h >> 10) - 15));
      const next = ((h + 1) >> 10 === 0 ? (h + 1) * 2 ** -24 : (1 + ((h + 1) & 0x3ff) / 1024) * 2 ** (((h + 1) >> 10) - 15));
      for (const c of [v, (v + next) / 2]) {
        f32[0] = c;
        centres.push(u32[0]);
      }
    }
    const bits: number[] = [];
    for (const c of centres) for (let d = -3; d <= 3; d++) for (const sign of [0, 0x80000000]) bits.push(((c + d) | sign) >>> 0);
    expectSame(Uint32Array.from(bits));
  });

  it("equals it on every exponent, sign and the mantissas where rounding turns, NaN payloads included", () => {
    const highs = [0, 0x7fc000, 0x2a4000]; // above the low 14 bits: none, all, some set
    const bits = new Uint32Array(256 * 2 * (highs.length * (1 << 14) + 23 * 5));
    let n = 0;
    for (let exp = 0; exp < 256; exp++) {
      for (const sign of [0, 1]) {
        const head = ((sign << 31) | (exp << 23)) >>> 0;
        // Every low 14 bits (float16 keeps 10 of 23: the rounding reads the 13 dropped and the
        // last kept) under each high part; single bits and their neighbours (subnormal rounding).
        for (const high of highs) for (let low = 0; low < 1 << 14; low++) bits[n++] = head | high | low;
        for (let k = 0; k < 23; k++) for (let d = -2; d <= 2; d++) bits[n++] = head | (((1 << k) + d) & 0x7fffff);
      }
    }
    expect(n).toBe(bits.length);
    expectSame(bits);
  });

  it("equals it on 10M random bit patterns, at every alignment and length of the vector tails", () => {
    const bits = new Uint32Array(10_000_000);
    let s = 0x9e3779b9;
    for (let i = 0; i < bits.length; i++) {
      // xorshift32: deterministic, every bit pattern reachable.
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      bits[i] = s >>> 0;
    }
    expectSame(bits);
    for (let offset = 0; offset < 17; offset++) for (let n = 0; n < 40; n++) expectSame(bits.subarray(offset, offset + n));
  });

  it("returns the first value float16 cannot hold finitely, in the vector body and in the tail", () => {
    for (const n of [1, 7, 8, 15, 16, 17, 33, 100]) {
      for (let at = 0; at < n; at++) {
        for (const bad of [65520, -65520, 1e30, Infinity, -Infinity, NaN]) {
          const v = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -65519 : 65504));
          v[at] = bad;
          if (at + 1 < n) v[n - 1] = NaN; // a later one is not reported
          for (const route of [0, ...routes]) expect([route, memory!.encodeF16!(v, new Uint16Array(n), route)]).toEqual([route, at]);
          expect(firstUnstorable(v)).toBe(at);
        }
      }
      for (const route of [0, ...routes]) expect(memory!.encodeF16!(new Float32Array(n).fill(65519.99), new Uint16Array(n), route)).toBe(-1);
    }
  });

  it("findNonFinite finds the first NaN or infinity, not large finite values", () => {
    for (const n of [1, 63, 64, 65, 200]) {
      const v = new Float32Array(n).fill(3.4028234663852886e38);
      expect(memory!.findNonFinite!(v)).toBe(-1);
      for (const at of [0, n >> 1, n - 1]) {
        const w = v.slice();
        w[at] = at % 2 ? -Infinity : NaN;
        w[n - 1] = w[n - 1] === 3.4028234663852886e38 ? Infinity : w[n - 1];
        expect(memory!.findNonFinite!(w)).toBe(at);
      }
    }
  });

  it("refuses short or overlapping outputs and other array types", () => {
    const v = new Float32Array(8);
    expect(() => memory!.encodeF16!(v, new Uint16Array(7))).toThrow(/at least as long/);
    expect(() => memory!.encodeF16!(v, new Uint16Array(v.buffer))).toThrow(/do not overlap/);
    expect(() => (memory!.encodeF16 as unknown as (...a: unknown[]) => number)(new Float64Array(8), new Uint16Array(8))).toThrow(/encodeF16\(src: Float32Array/);
    expect(() => memory!.encodeF16!(v, new Uint16Array(8), 4)).toThrow(/route\?: 0\.\.3/);
  });
});
