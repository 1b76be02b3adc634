/**
 * The fused inference kernels (lib/native/wasm-fused.ts) against float64 loops written here from
 * the definitions: rotary (full and partial rotary_dim) and causal attention (multi-head, grouped
 * kv heads, a sliding window, a length that fills no tile); and the switch: off under a gradient
 * tape, where the composite ops (with gradients) run instead. Skipped, with a notice, where the
 * native BLAS is unavailable or another backend is forced.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { causalAttention } from "../../lib/models/common/attention";
import { ensureGradients } from "../../lib/models/common/gradients";
import { embed } from "../../lib/models/common/embedding";
import { applyRotary, rotaryTables } from "../../lib/models/common/rotary";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { fusedKernelsActive } from "../../lib/native/wasm-fused";

const forced = process.env.LINEARITY_BACKEND;
const otherBackend = forced !== undefined && forced !== "" && forced !== "wasm";
const fusedOff = process.env.LINEARITY_FUSED === "0";
const runs = nativeBlas() !== undefined && !otherBackend && !fusedOff;
if (!runs) {
  console.warn(`test/native/wasm-fused.test.ts: SKIPPED, ${otherBackend ? `LINEARITY_BACKEND=${forced}` : fusedOff ? "LINEARITY_FUSED=0" : nativeBlasStatus()}`);
}

beforeAll(async () => {
  if (!runs) return;
  await initBackend({ quiet: true });
  expect(fusedKernelsActive()).toBe(false); // not without nativeMatmul
  await initBackend({ quiet: true, nativeMatmul: true });
  ensureGradients();
});

/** Float64 rotary of one head vector at position p (pairs i, i + rot/2 over the first rot values). */
function rotaryRef(x: Float32Array, base: number, dHead: number, rot: number, p: number, theta: number): number[] {
  const out = Array.from(x.subarray(base, base + dHead));
  const half = rot / 2;
  for (let i = 0; i < half; i++) {
    // The angle as the tables round it (float32 inverse frequency and product), computed in float64.
    const angle = Math.fround(p * Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / rot)))));
    const a = x[base + i], b = x[base + half + i];
    out[i] = a * Math.cos(angle) - b * Math.sin(angle);
    out[half + i] = b * Math.cos(angle) + a * Math.sin(angle);
  }
  return out;
}

/** Float64 causal attention of q [B, H, P, D], k, v [B, Hkv, P, D] with an optional window. */
function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, [B, H, P, D]: number[], hKv: number, scale: number, window: number | null): Float64Array {
  const out = new Float64Array(B * H * P * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / (H / hKv));
      for (let t = 0; t < P; t++) {
        const first = window === null ? 0 : Math.max(0, t - window + 1);
        const s: number[] = [];
        for (let j = first; j <= t; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[((b * H + h) * P + t) * D + d] * k[((b * hKv + kv) * P + j) * D + d];
          s.push(dot * scale);
        }
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, c) => a + c, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          e.forEach((w, i) => (acc += (w / z) * v[((b * hKv + kv) * P + first + i) * D + d]));
          out[((b * H + h) * P + t) * D + d] = acc;
        }
      }
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.skipIf(!runs)("fused inference kernels", () => {
  it("are active in inference and off under a gradient tape", () => {
    expect(fusedKernelsActive()).toBe(true);
    let inside: boolean | undefined;
    const x = tf.scalar(2);
    tf.grad((y: tf.Tensor) => {
      inside = fusedKernelsActive();
      return tf.square(y);
    })(x).dispose();
    x.dispose();
    expect(inside).toBe(false);
  });

  for (const [dHead, rot] of [[16, 16], [16, 4]]) {
    it(`rotary, d_head ${dHead}, rotary_dim ${rot}: within 1e-6 of float64`, () => {
      const [B, H, P] = [2, 3, 37];
      const x = tf.randomNormal([B, H, P, dHead], 0, 1, "float32", 5) as tf.Tensor4D;
      const { cos, sin } = rotaryTables(P, rot, 500);
      const y = applyRotary(x, cos, sin);
      const xs = x.dataSync() as Float32Array;
      const want: number[] = [];
      for (let r = 0; r < B * H * P; r++) want.push(...rotaryRef(xs, r * dHead, dHead, rot, r % P, 500));
      expect(maxDiff(y.dataSync(), want)).toBeLessThan(1e-6);
      // The pass-through part is copied exactly.
      if (rot < dHead) expect(y.dataSync()[rot]).toBe(xs[rot]);
      tf.dispose([x, cos, sin, y]);
    });
  }

  for (const [name, H, hKv, window] of [["multi-head", 4, 4, null], ["grouped kv heads", 6, 2, null], ["one kv head, window 5", 4, 1, 5]] as const) {
    it(`attention, ${name}: within 1e-6 of float64, and of the composite ops under a tape`, () => {
      const [B, P, D] = [2, 37, 8];
      const q = tf.randomNormal([B, H, P, D], 0, 1, "float32", 1) as tf.Tensor4D;
      const k = tf.randomNormal([B, hKv, P, D], 0, 1, "float32", 2) as tf.Tensor4D;
      const v = tf.randomNormal([B, hKv, P, D], 0, 1, "float32", 3) as tf.Tensor4D;
      const scale = 1 / Math.sqrt(D);
      const fused = causalAttention(q, k, v, scale, window);
      const want = attentionRef(q.dataSync() as Float32Array, k.dataSync() as Float32Array, v.dataSync() as Float32Array, [B, H, P, D], hKv, scale, window);
      expect(maxDiff(fused.dataSync(), want)).toBeLessThan(1e-6);
      // Not vacuous: outputs of size ~1 that depend on the window.
      expect(Math.max(...fused.dataSync().map(Math.abs))).toBeGreaterThan(0.5);
      // The composite path (what a tape records) agrees within float32 rounding.
      let composite: Float32Array | undefined;
      tf.grad((qq: tf.Tensor) => {
        const o = causalAttention(qq as tf.Tensor4D, k, v, scale, window);
        composite = o.dataSync() as Float32Array;
        return tf.sum(o);
      })(q).dispose();
      expect(maxDiff(fused.dataSync(), composite!)).toBeLessThan(1e-6);
      tf.dispose([q, k, v, fused]);
    });
  }

  it("embedding: rows of the table exactly; an id outside the table is a one-line error", () => {
    const table = tf.randomNormal([11, 5], 0, 1, "float32", 9) as tf.Tensor2D;
    const ids = tf.tensor2d([[3, 0, 10], [10, 7, 3]], [2, 3], "int32");
    const y = embed(table, ids);
    expect(y.shape).toEqual([2, 3, 5]);
    const t = table.arraySync();
    expect(y.arraySync()).toEqual([[t[3], t[0], t[10]], [t[10], t[7], t[3]]]);
    const bad = tf.tensor2d([[1, 11]], [1, 2], "int32");
    expect(() => embed(table, bad)).toThrow("embedding: id 11 at position 1 is outside 0..10");
    tf.dispose([table, ids, y, bad]);
  });
});
