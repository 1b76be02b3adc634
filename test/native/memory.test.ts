/**
 * The addon's bulk conversions (native/blas.c transpose32, widenBf16) against JavaScript loops,
 * across tile edges, and their argument checks. Skipped, with a notice, where the native addon
 * is unavailable or was built before these calls.
 */
import { describe, expect, it } from "vitest";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";

const memory = nativeBlas()?.memory;
const runs = memory?.transpose32 !== undefined && memory.widenBf16 !== undefined;
if (!runs) console.warn(`test/native/memory.test.ts: SKIPPED, ${nativeBlas() === undefined ? nativeBlasStatus() : "the addon predates transpose32/widenBf16 (npm run build:native)"}`);

describe.skipIf(!runs)("native bulk conversions", () => {
  for (const [rows, cols] of [[1, 1], [1, 33], [33, 1], [32, 32], [70, 45], [129, 300]]) {
    it(`transpose32 [${rows}, ${cols}] equals the loop exactly`, () => {
      const src = Float32Array.from({ length: rows * cols }, (_, i) => Math.fround(Math.sin(i) * 1e3));
      const dst = new Float32Array(rows * cols).fill(NaN);
      memory!.transpose32!(src, rows, cols, dst);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) expect(dst[j * rows + i]).toBe(src[i * cols + j]);
    });
  }

  it("transpose32 works on views at an offset and refuses short or overlapping arrays", () => {
    const buf = new Float32Array(100).map((_, i) => i);
    const dst = new Float32Array(6);
    memory!.transpose32!(buf.subarray(10, 16), 2, 3, dst); // [[10, 11, 12], [13, 14, 15]]
    expect(Array.from(dst)).toEqual([10, 13, 11, 14, 12, 15]);
    expect(() => memory!.transpose32!(buf.subarray(0, 5), 2, 3, dst)).toThrow(/do not overlap|rows \* cols/);
    expect(() => memory!.transpose32!(buf.subarray(0, 6), 2, 3, buf.subarray(3, 9))).toThrow(/do not overlap/);
    expect(() => (memory!.transpose32 as unknown as (...a: unknown[]) => void)(new Float64Array(6), 2, 3, dst)).toThrow(/transpose32\(src: Float32Array/);
  });

  it("widenBf16 gives the float32 of every bit pattern, NaN and infinities included", () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = new Float32Array(65536);
    memory!.widenBf16!(bits, out);
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < 65536; i++) expect(u[i]).toBe((i << 16) >>> 0);
    expect(out[0x3f80]).toBe(1);
    expect(out[0xff80]).toBe(-Infinity);
    expect(() => memory!.widenBf16!(bits, new Float32Array(3))).toThrow(/at least as long/);
  });
});
