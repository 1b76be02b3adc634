/**
 * The fused rotary attention kernel (lib/native/wasm-attention.ts rotaryAttentionKernel,
 * native/kernels.c rotaryAttention), reached through rotaryCausalAttention on the projections'
 * layout q [batch, pos, n_heads * d_head], k, v [batch, pos, n_kv_heads * d_head], against:
 *   - a float64 reference written here from the definitions (rotate_half rotary at the tables'
 *     float32-rounded angles, softmax over the visible keys, HF's repeat_kv order);
 *   - the composite route (splitHeads, applyRotary, causalAttention, mergeHeads as tfjs ops), which
 *     runs under a gradient tape where the fused kernels are off;
 *   - the fused route it replaces (the rotary kernel, the causal attention kernel and the
 *     transposes): bit for bit with the causal square whole (1 piece), within float32 rounding
 *     when it is cut in 2, 3 or 5 pieces (sgemm on fewer keys may round differently).
 * Multi-head and grouped kv heads (groups of 1, 2, 8), a sliding window shorter than the
 * sequence, an odd length and a length of 1, batch 1 and 3, d_head 8 and 64, partial rotary.
 * Skipped, with a notice, where the native BLAS is unavailable or another backend is forced.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { causalAttention, mergeHeads, rotaryCausalAttention, splitHeads } from "../../lib/models/common/attention";
import { ensureGradients } from "../../lib/models/common/gradients";
import { applyRotary, rotaryTables } from "../../lib/models/common/rotary";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { rotaryAttentionChunks } from "../../lib/native/wasm-attention";
import { fusedKernelsActive, fusedRotaryAttention } from "../../lib/native/wasm-fused";
import { causalAttentionF64, maxDiff } from "./attention-reference";

const forced = process.env.LINEARITY_BACKEND;
const otherBackend = forced !== undefined && forced !== "" && forced !== "wasm";
const fusedOff = process.env.LINEARITY_FUSED === "0";
const runs = nativeBlas() !== undefined && !otherBackend && !fusedOff;
if (!runs) {
  console.warn(`test/native/rotary-attention.test.ts: SKIPPED, ${otherBackend ? `LINEARITY_BACKEND=${forced}` : fusedOff ? "LINEARITY_FUSED=0" : nativeBlasStatus()}`);
}

const THETA = 10000;

/**
 * Tolerance against float64 and between the float32 routes. Outputs are convex combinations of v
 * rows (|v| ~ 1 here, |out| up to ~4, where a float32 ulp is 2.4e-7 to 4.8e-7). Each float32
 * route rounds the rotated q, k (1 ulp), the d_head-term score dots (scores ~1 after the scale),
 * exp (within 2 ulp), the softmax sum and the pos-term weighted sum of v: the outputs land within
 * a few ulps of float64 and of each other (largest seen: 9.5e-7, two ulps at |out| ~ 3, printed
 * below). 2e-6 is about four ulps at the largest outputs, while a wrong key, head, position or
 * window (differences of order 0.1-1) cannot pass.
 */
const TOL = 2e-6;

beforeAll(async () => {
  if (!runs) return;
  await initBackend({ quiet: true, nativeMatmul: true });
  ensureGradients();
});

interface Case { B: number; P: number; H: number; hKv: number; D: number; rot: number; window: number | null }

/** Float64 mergeHeads(causalAttention(rot(q), rot(k), v)) on the merged layout: [B, P, H * D]. */
function reference(q: Float32Array, k: Float32Array, v: Float32Array, c: Case, scale: number): Float64Array {
  return causalAttentionF64(q, k, v, c, scale, c.window, "merged", { rot: c.rot, theta: THETA });
}

const CASES: [string, Case][] = [
  ["multi-head, d_head 8, batch 3, pos 37", { B: 3, P: 37, H: 4, hKv: 4, D: 8, rot: 8, window: null }],
  ["group 2, d_head 64, batch 1, pos 40", { B: 1, P: 40, H: 4, hKv: 2, D: 64, rot: 64, window: null }],
  ["group 8, d_head 64, batch 3, window 7 < pos 29", { B: 3, P: 29, H: 8, hKv: 1, D: 64, rot: 64, window: 7 }],
  ["group 2, d_head 8, window 5 < pos 37, batch 1", { B: 1, P: 37, H: 6, hKv: 3, D: 8, rot: 8, window: 5 }],
  ["group 8, d_head 64, pos 130 (two pieces by default), batch 1", { B: 1, P: 130, H: 16, hKv: 2, D: 64, rot: 64, window: null }],
  ["multi-head, d_head 64, window 40 < pos 130, batch 1", { B: 1, P: 130, H: 2, hKv: 2, D: 64, rot: 64, window: 40 }],
  ["group 2, pos 1, batch 3", { B: 3, P: 1, H: 4, hKv: 2, D: 8, rot: 8, window: null }],
  ["group 2, partial rotary 4 of d_head 8, pos 37, batch 3", { B: 3, P: 37, H: 4, hKv: 2, D: 8, rot: 4, window: null }],
];

describe.skipIf(!runs)("fused rotary attention on the projections' layout", () => {
  for (const [name, c] of CASES) {
    it(`${name}: within ${TOL} of float64 and of the composite ops; the rotary + attention kernels' bit for bit in one piece, within ${TOL} in pieces`, () => {
      const { B, P, H, hKv, D, rot, window } = c;
      const q = tf.randomNormal([B, P, H * D], 0, 1, "float32", 11) as tf.Tensor3D;
      const k = tf.randomNormal([B, P, hKv * D], 0, 1, "float32", 12) as tf.Tensor3D;
      const v = tf.randomNormal([B, P, hKv * D], 0, 1, "float32", 13) as tf.Tensor3D;
      const { cos, sin } = rotaryTables(P, rot, THETA);
      const scale = 1 / Math.sqrt(D);
      expect(fusedKernelsActive()).toBe(true);
      const fused = rotaryCausalAttention(q, k, v, cos, sin, H, hKv, scale, window);
      expect(fused.shape).toEqual([B, P, H * D]);
      const got = fused.dataSync() as Float32Array;

      const want = reference(q.dataSync() as Float32Array, k.dataSync() as Float32Array, v.dataSync() as Float32Array, c, scale);
      const vsRef = maxDiff(got, want);
      expect(vsRef).toBeLessThan(TOL);
      // Not vacuous: outputs of size ~1.
      expect(got.reduce((m, x) => Math.max(m, Math.abs(x)), 0)).toBeGreaterThan(0.5);

      // The composite ops: what a gradient tape records (the fused kernels are off there).
      let composite: Float32Array | undefined;
      tf.grad((qq: tf.Tensor) => {
        expect(fusedKernelsActive()).toBe(false);
        const o = rotaryCausalAttention(qq as tf.Tensor3D, k, v, cos, sin, H, hKv, scale, window);
        composite = o.dataSync() as Float32Array;
        return tf.sum(o);
      })(q).dispose();
      const vsComposite = maxDiff(got, composite!);
      expect(vsComposite).toBeLessThan(TOL);

      // The fused route it replaces: rotary kernel, causal attention kernel, transposes. With the
      // causal square whole (1 piece), the same rotated values, the same products and the same
      // softmax: bit for bit. Cut in pieces, sgemm runs on other shapes (fewer keys), which may
      // round differently: within float32 rounding then, and as close to float64 as before.
      const before = tf.tidy(() =>
        mergeHeads(causalAttention(applyRotary(splitHeads(q, H), cos, sin), applyRotary(splitHeads(k, hKv), cos, sin), splitHeads(v, hKv), scale, window)),
      );
      const old = before.dataSync();
      const vsOld = [maxDiff(got, old)];
      expect(vsOld[0]).toBeLessThan(rotaryAttentionChunks(P) === 1 ? Number.MIN_VALUE : TOL);
      for (const chunks of [1, 2, 3, 5]) {
        const y = fusedRotaryAttention(q, k, v, cos, sin, H, hKv, scale, window, chunks);
        const d = maxDiff(y.dataSync(), old);
        vsOld.push(d);
        if (chunks === 1) expect(d, "1 piece").toBe(0);
        else expect(d, `${chunks} pieces`).toBeLessThan(TOL);
        expect(maxDiff(y.dataSync(), want), `${chunks} pieces`).toBeLessThan(TOL);
        y.dispose();
      }
      console.log(`${name}: max |fused - float64| ${vsRef.toExponential(2)}, |fused - composite| ${vsComposite.toExponential(2)}, ` +
        `|fused - rotary + attention kernels| default and 1, 2, 3, 5 pieces: ${vsOld.map((d) => d.toExponential(1)).join(", ")}`);
      tf.dispose([q, k, v, cos, sin, fused, before]);
    });
  }

  it("keeps the composite route's gradients under a tape", () => {
    const [B, P, H, hKv, D] = [2, 9, 4, 2, 8];
    const q = tf.randomNormal([B, P, H * D], 0, 1, "float32", 21) as tf.Tensor3D;
    const k = tf.randomNormal([B, P, hKv * D], 0, 1, "float32", 22) as tf.Tensor3D;
    const v = tf.randomNormal([B, P, hKv * D], 0, 1, "float32", 23) as tf.Tensor3D;
    const { cos, sin } = rotaryTables(P, D, THETA);
    const f = (qq: tf.Tensor) => tf.sum(tf.square(rotaryCausalAttention(qq as tf.Tensor3D, k, v, cos, sin, H, hKv, 0.3, null)));
    const g = tf.grad(f)(q);
    // Central difference on one query value: the gradient is the composite ops' own.
    const eps = 1e-2;
    const at = 5 * H * D + 3; // batch 0, position 5, head 0, dimension 3
    const bump = (d: number) => {
      const x = q.dataSync().slice();
      x[at] += d;
      const t = tf.tensor3d(x, q.shape);
      const y = tf.tidy(() => f(t).dataSync()[0]);
      t.dispose();
      return y;
    };
    const numeric = (bump(eps) - bump(-eps)) / (2 * eps);
    expect(Math.abs(g.dataSync()[at] - numeric)).toBeLessThan(1e-2 * Math.max(1, Math.abs(numeric)));
    expect(Math.abs(numeric)).toBeGreaterThan(1e-3);
    tf.dispose([q, k, v, cos, sin, g]);
  });

  it("refuses wrong shapes and overlapping output with one-line errors", () => {
    const kernels = nativeBlas()!.kernels!;
    const [B, P, H, hKv, D] = [1, 4, 2, 1, 8];
    const q = new Float32Array(B * P * H * D), k = new Float32Array(B * P * hKv * D), v = new Float32Array(B * P * hKv * D);
    const cos = new Float32Array(P * D), sin = new Float32Array(P * D), out = new Float32Array(q.length);
    const base = { q, k, v, cos, sin, out, B, P, H, hKv, D, window: 0, chunks: 1 };
    const call = (over: Partial<typeof base>) => () => {
      const a = { ...base, ...over };
      kernels.rotaryAttention(a.q, a.k, a.v, a.cos, a.sin, a.out, a.B, a.P, a.H, a.hKv, a.D, 0.5, a.window, a.chunks, 2);
    };
    expect(call({})).not.toThrow();
    expect(call({ k: new Float32Array(k.length + 1) })).toThrow(/^native kernels: rotaryAttention needs q, out \[batch, nPos, nHeads \* dHead\] and k, v/);
    expect(call({ H: 3, hKv: 2 })).toThrow(/rotaryAttention needs positive sizes, nHeads a multiple of nKvHeads/);
    expect(call({ cos: new Float32Array(P * 3), sin: new Float32Array(P * 3) })).toThrow(/rotaryAttention needs cos, sin \[nPos, rot\] with rot even/);
    expect(call({ out: q })).toThrow("native kernels: rotaryAttention's out overlaps an input");
    expect(call({ chunks: 0 })).toThrow(/chunks and threads >= 1/);
    expect(call({ B: 1.5 })).toThrow(TypeError);
    // Through the model function: mismatched kv width.
    const tq = tf.zeros([1, 4, 16]) as tf.Tensor3D, tk = tf.zeros([1, 4, 12]) as tf.Tensor3D;
    const t = rotaryTables(4, 8, THETA);
    expect(() => rotaryCausalAttention(tq, tk, tk, t.cos, t.sin, 2, 1, 0.5)).toThrow(
      "rotaryCausalAttention: q [1,4,16] with 2 heads does not match k [1,4,12] / v [1,4,12] with 1 kv heads",
    );
    tf.dispose([tq, tk, t.cos, t.sin]);
  });
});
