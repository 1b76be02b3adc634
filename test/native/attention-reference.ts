/**
 * Float64 references for the attention kernels' tests (test/native/wasm-fused.test.ts,
 * rotary-attention.test.ts), written from the definitions: rotate_half rotary at the tables'
 * float32-rounded angles, causal softmax over the visible keys (within a sliding window), HF's
 * repeat_kv order (query head h reads kv head floor(h / (H / hKv))).
 */
import { expect } from "vitest";

/** Float64 rotate_half of one head vector at position p over its first `rot` values, angles rounded as rotaryTables rounds them. */
export function rotateHalfF64(x: ArrayLike<number>, base: number, dHead: number, rot: number, p: number, theta: number): number[] {
  const out = Array.from({ length: dHead }, (_, i) => x[base + i]);
  const half = rot / 2;
  for (let i = 0; i < half; i++) {
    const angle = Math.fround(p * Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / rot)))));
    const a = x[base + i], b = x[base + half + i];
    out[i] = a * Math.cos(angle) - b * Math.sin(angle);
    out[half + i] = b * Math.cos(angle) + a * Math.sin(angle);
  }
  return out;
}

/** Sizes: batch B, positions P, query heads H, kv heads hKv, head width D. */
export interface AttentionDims {
  B: number;
  P: number;
  H: number;
  hKv: number;
  D: number;
}

/**
 * Float64 causal attention of q (H heads), k, v (hKv heads), each laid out `split`
 * [B, heads, P, D] or `merged` [B, P, heads * D], the output in the same layout; with `rotary`,
 * q and k rotated first (rotateHalfF64).
 */
export function causalAttentionF64(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, { B, P, H, hKv, D }: AttentionDims,
  scale: number, window: number | null, layout: "split" | "merged", rotary?: { rot: number; theta: number },
): Float64Array {
  const at = (heads: number, b: number, h: number, t: number) => (layout === "split" ? ((b * heads + h) * P + t) * D : ((b * P + t) * heads + h) * D);
  const row = (x: ArrayLike<number>, heads: number, b: number, h: number, t: number) =>
    rotary === undefined ? Array.from({ length: D }, (_, d) => x[at(heads, b, h, t) + d]) : rotateHalfF64(x, at(heads, b, h, t), D, rotary.rot, t, rotary.theta);
  const out = new Float64Array(B * P * H * D);
  for (let b = 0; b < B; b++) {
    const keys = Array.from({ length: hKv }, (_, kv) => Array.from({ length: P }, (_, j) => row(k, hKv, b, kv, j)));
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / (H / hKv));
      for (let t = 0; t < P; t++) {
        const query = row(q, H, b, h, t);
        const first = window === null ? 0 : Math.max(0, t - window + 1);
        const s: number[] = [];
        for (let j = first; j <= t; j++) s.push(query.reduce((acc, x, d) => acc + x * keys[kv][j][d], 0) * scale);
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, c) => a + c, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          e.forEach((w, i) => (acc += (w / z) * v[at(hKv, b, kv, first + i) + d]));
          out[at(H, b, h, t) + d] = acc;
        }
      }
    }
  }
  return out;
}

/** Largest |a[i] - b[i]| of two arrays of one length. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
