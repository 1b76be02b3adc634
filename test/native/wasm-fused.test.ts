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
import { causalAttentionF64, maxDiff, rotateHalfF64 } from "./attention-reference";

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
      for (let r = 0; r < B * H * P; r++) want.push(...rotateHalfF64(xs, r * dHead, dHead, rot, r % P, 500));
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
      const want = causalAttentionF64(q.dataSync(), k.dataSync(), v.dataSync(), { B, P, H, hKv, D }, scale, window, "split");
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
