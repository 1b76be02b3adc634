/**
 * IEEE 754 half precision (float16) and bfloat16 <-> float32 conversions.
 *
 * Encoding rounds to nearest, ties to even (as numpy's `astype(np.float16)` and torch's
 * `.to(torch.bfloat16)` do); overflow gives ±Inf, tiny values become subnormals or ±0, and NaN
 * stays NaN (quiet, sign and top payload bits kept where they fit).
 */
import { nativeMemory } from "../native/blas";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value -> float16 bit pattern (uint16), round to nearest even. */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  return f32BitsToF16Bits(u32[0]);
}

/** float32 bit pattern (uint32) -> float16 bit pattern, round to nearest even. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;

  // NaN and Inf: keep NaN quiet (set the top mantissa bit) so it never turns into Inf.
  if (exp === 0xff) {
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  // Unbiased exponent, then rebias for float16 (bias 15).
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    // Subnormal float16 (or zero): shift the full significand (with implicit 1) right.
    if (e < -10) return sign; // rounds to zero (below half the smallest subnormal)
    const full = mant | 0x800000;
    const shift = 14 - e; // 24-bit significand -> 10-bit subnormal mantissa
    const half = 1 << (shift - 1);
    const rest = full & ((1 << shift) - 1);
    let out = full >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out += 1;
    return sign | out; // a carry into bit 10 correctly yields the smallest normal
  }
  // Normal: drop 13 mantissa bits with round to nearest even; a carry may bump the exponent.
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out += 1;
  return sign | out; // carry into exponent 0x1f gives exactly Inf, which is right
}

/** float16 bit pattern (uint16) -> float32 value (exact). */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 value -> bfloat16 bit pattern (uint16), round to nearest even. */
export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    return ((x >>> 16) | 0x0040) & 0xffff; // quiet NaN
  }
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** bfloat16 bit pattern (uint16) -> float32 value (exact). */
export function bf16BitsToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** Decode a float16 array (uint16 bit patterns) into float32. */
export function decodeF16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  // A 64K lookup table is built once: decoding is then one load per element.
  const table = f16Table();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/**
 * Encode float32 values into float16 bit patterns: a Float32Array in C where the native addon
 * provides it (bit for bit the same as the loop here, test/native/f16.test.ts).
 */
export function encodeF16(values: ArrayLike<number>, out = new Uint16Array(values.length)): Uint16Array {
  if (values instanceof Float32Array) {
    encodeF16Checked(values, out);
    return out;
  }
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}

/**
 * Encode `values` into `out` (at least as long) and return the first index whose value float16
 * holds no finite value for (NaN, ±Inf, or |v| >= 65520, which rounds to Inf), or -1: one read
 * of the values both converts and checks them. In C where the native addon provides it.
 */
export function encodeF16Checked(values: Float32Array, out: Uint16Array): number {
  if (out.length < values.length) throw new Error(`encodeF16: out holds ${out.length} values, fewer than the ${values.length} to encode`);
  const native = nativeMemory()?.encodeF16;
  return native !== undefined ? native(values, out) : encodeF16Js(values, out);
}

/** The JavaScript route of {@link encodeF16Checked}, also the reference the C route is tested against. */
export function encodeF16Js(values: Float32Array, out: Uint16Array): number {
  // Read the bit patterns directly: no per-element round trip through a scratch buffer.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let first = -1;
  for (let i = 0; i < bits.length; i++) {
    const h = f32BitsToF16Bits(bits[i]);
    out[i] = h;
    // Exponent all ones: Inf or NaN (either the value's own or an overflow).
    if ((h & 0x7c00) === 0x7c00 && first < 0) first = i;
  }
  return first;
}

/**
 * Decode a bfloat16 array (uint16 bit patterns) into float32: in C where the native addon provides
 * it (a 7B checkpoint is 6.7G values; this loop took 6.4 s for TinyLlama's 1.1G under load).
 */
export function decodeBf16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const native = nativeMemory()?.widenBf16;
  if (native !== undefined && out.length >= bits.length) {
    native(bits, out);
    return out;
  }
  const view = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) view[i] = bits[i] << 16;
  return out;
}

/** Encode float32 values into bfloat16 bit patterns. */
export function encodeBf16(values: ArrayLike<number>, out = new Uint16Array(values.length)): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]);
  return out;
}

let table: Float32Array | undefined;
function f16Table(): Float32Array {
  if (table === undefined) {
    table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) table[b] = f16BitsToF32(b);
  }
  return table;
}

/** Largest finite float16. */
export const FLOAT16_MAX = 65504;

/**
 * Index of the first value that float16 would turn into ±Infinity (|v| >= 65520, the midpoint
 * between 65504 and the next step), or -1. NaN and existing infinities are not reported here.
 */
export function float16Overflow(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a >= 65520 && a !== Infinity) return i;
  }
  return -1;
}
