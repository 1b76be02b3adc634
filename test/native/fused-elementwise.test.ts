/**
 * The fused element-wise kernels (native/kernels.c through lib/native/wasm-fused.ts) against
 * float64 loops written here from the definitions: RMSNorm, LayerNorm, SwiGLU, gelu_new and the
 * causal softmax, on ordinary values, on the exp polynomial's extremes (saturation, NaN); attention
 * groups, norms, SwiGLU and gelu_new on several threads bit for bit against one; and the
 * C argument checks. Skipped, with a notice, where the native kernels are unavailable.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { gatedActivation, geluTanh } from "../../lib/models/common/activations";
import { layerNorm, rmsNorm } from "../../lib/models/common/norm";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";
import { fusedKernelsActive } from "../../lib/native/wasm-fused";

const forced = process.env.LINEARITY_BACKEND;
const otherBackend = forced !== undefined && forced !== "" && forced !== "wasm";
const fusedOff = process.env.LINEARITY_FUSED === "0";
const kernels = nativeBlas()?.kernels;
const runs = kernels !== undefined && !otherBackend && !fusedOff;
if (!runs) {
  console.warn(`test/native/fused-elementwise.test.ts: SKIPPED, ${otherBackend ? `LINEARITY_BACKEND=${forced}` : fusedOff ? "LINEARITY_FUSED=0" : kernels === undefined && nativeBlas() !== undefined ? "the addon has no kernels (npm run build:native)" : nativeBlasStatus()}`);
}

beforeAll(async () => {
  if (!runs) return;
  await initBackend({ quiet: true, nativeMatmul: true });
});

/** Largest |a - b| relative to max(1, |b|) over two arrays of one length. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return w;
}

/** Values with a spread of scales and an offset, so norms centre and scale something. */
function values(n: number, seed: number): Float32Array {
  const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([n], 0, 1, "float32", seed), tf.exp(tf.randomUniform([n], -3, 3, "float32", seed + 1))), 0.7));
  const v = x.dataSync() as Float32Array;
  x.dispose();
  return v;
}

describe.skipIf(!runs)("fused element-wise kernels", () => {
  it("are the ones that run", () => expect(fusedKernelsActive()).toBe(true));

  it("RMSNorm and LayerNorm: within 2e-7 (relative) of float64, rows of 3 widths", () => {
    for (const width of [1, 7, 768]) {
      const rows = 5;
      const xs = values(rows * width, width), gain = values(width, 3), bias = values(width, 4);
      const x = tf.tensor3d(xs, [1, rows, width]), g = tf.tensor1d(gain), b = tf.tensor1d(bias);
      const rms = rmsNorm(x, g, 1e-6).dataSync(), ln = layerNorm(x, g, b, 1e-5).dataSync();
      const wantRms: number[] = [], wantLn: number[] = [];
      for (let r = 0; r < rows; r++) {
        const row = Array.from(xs.subarray(r * width, (r + 1) * width));
        const ms = row.reduce((s, v) => s + v * v, 0) / width;
        const mean = row.reduce((s, v) => s + v, 0) / width;
        const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / width;
        row.forEach((v, i) => {
          wantRms.push((v / Math.sqrt(ms + 1e-6)) * gain[i]);
          wantLn.push(((v - mean) / Math.sqrt(variance + 1e-5)) * gain[i] + bias[i]);
        });
      }
      expect(worst(rms, wantRms)).toBeLessThan(2e-7 * 8);
      expect(worst(ln, wantLn)).toBeLessThan(2e-7 * 8);
      tf.dispose([x, g, b]);
    }
  });

  it("SwiGLU and gelu_new: within 4 float32 ulps of float64 over -100..100 (and of a subnormal sigmoid times x); NaN stays NaN", () => {
    const n = 20001;
    const xs = Float32Array.from({ length: n }, (_, i) => -100 + (200 * i) / (n - 1));
    const up = values(n, 11);
    const gate = tf.tensor1d(xs), u = tf.tensor1d(up);
    const swi = gatedActivation("silu", gate, u).dataSync();
    const gelu = geluTanh(gate).dataSync();
    const c = Math.sqrt(2 / Math.PI);
    // The float32 spacing at v, down to the subnormals' fixed 2^-149.
    const ulp = (v: number) => Math.max(Math.abs(v) * 2 ** -23, 2 ** -149);
    let worstSwi = 0, worstGelu = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      const wantSwi = (x / (1 + Math.exp(-x))) * up[i];
      // gelu_new as x sigmoid(2u): 0.5 x (1 + tanh(u)) itself cancels to 0 in float64 below x = -6.
      const inner = c * (x + 0.044715 * x ** 3);
      const wantGelu = x / (1 + Math.exp(-2 * inner));
      // Below x = -87 sigmoid(x) itself is subnormal (as in PyTorch's float32), spaced 2^-149 apart.
      worstSwi = Math.max(worstSwi, Math.abs(swi[i] - wantSwi) / (ulp(wantSwi) + Math.abs(x * up[i]) * 2 ** -149));
      // u itself is rounded to float32 before the exponential, an error e^-2u multiplies by 2|u|.
      worstGelu = Math.max(worstGelu, Math.abs(gelu[i] - wantGelu) / (ulp(wantGelu) * (1 + 2 * Math.abs(inner)) + Math.abs(x) * 2 ** -149));
      expect(Number.isFinite(swi[i]) && Number.isFinite(gelu[i])).toBe(true);
    }
    expect(worstSwi).toBeLessThan(4);
    expect(worstGelu).toBeLessThan(4);
    const nan = tf.tensor1d([NaN, 1]);
    expect(Array.from(gatedActivation("silu", nan, nan).dataSync()).map(Number.isNaN)).toEqual([true, false]);
    expect(Number.isNaN(geluTanh(nan).dataSync()[0])).toBe(true);
    tf.dispose([gate, u, nan]);
  });

  it("causal softmax: rows sum to 1 over the visible keys within 1e-6 of float64, hidden keys exactly 0, window honoured", () => {
    const nPos = 9, heads = 2;
    for (const window of [0, 3]) {
      const s = values(heads * nPos * nPos, 21 + window).map((v) => v * 10);
      const got = Float32Array.from(s);
      kernels!.causalSoftmax(got, nPos, window);
      for (let r = 0; r < heads * nPos; r++) {
        const t = r % nPos;
        const first = window > 0 ? Math.max(0, t - window + 1) : 0;
        const row = Array.from(s.subarray(r * nPos + first, r * nPos + t + 1));
        const m = Math.max(...row);
        const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
        for (let key = 0; key < nPos; key++) {
          const p = got[r * nPos + key];
          if (key < first || key > t) expect(p).toBe(0);
          else expect(Math.abs(p - Math.exp(s[r * nPos + key] - m) / z)).toBeLessThan(1e-6);
        }
      }
    }
  });

  it("attention groups on 2 threads are bit for bit those on 1, over repeated runs", () => {
    const [groups, rows, nPos, dHead] = [24, 2 * 33, 33, 16];
    const q = values(groups * rows * dHead, 31), k = values(groups * nPos * dHead, 32), v = values(groups * nPos * dHead, 33);
    const blas = nativeBlas()!;
    const threads = blas.threads();
    blas.setThreads(1);
    try {
      const run = (n: number) => {
        const out = new Float32Array(groups * rows * dHead);
        kernels!.attentionGroups(q, k, v, new Float32Array(groups * rows * nPos), out, groups, rows, nPos, dHead, 0.25, 5, n);
        return out;
      };
      const one = run(1);
      expect(Math.max(...one.map(Math.abs))).toBeGreaterThan(0.1); // not vacuous
      for (let rep = 0; rep < 20; rep++) expect(run(2)).toEqual(one);
    } finally {
      blas.setThreads(threads);
    }
  });

  it("refuses lengths that do not fit, in one line", () => {
    const k = kernels!;
    expect(() => k.rmsNorm(new Float32Array(10), new Float32Array(4), 1e-5, new Float32Array(10))).toThrow(/rmsNorm needs x and out of equal length, a multiple of gain's/);
    expect(() => k.swiglu(new Float32Array(3), new Float32Array(4), new Float32Array(3))).toThrow(/swiglu needs gate, up and out of equal length/);
    expect(() => k.causalSoftmax(new Float32Array(10), 3, 0)).toThrow(/causalSoftmax needs whole \[nPos, nPos\] blocks/);
    const f = (n: number) => new Float32Array(n);
    expect(() => k.attentionGroups(f(2 * 4 * 2), f(2 * 4 * 2), f(2 * 4 * 2), f(2 * 4 * 4), f(2 * 4 * 2), 2, 4, 4, 2, 1, 0, 2)).not.toThrow();
    expect(() => k.attentionGroups(f(2 * 4 * 2), f(2 * 4 * 2), f(2 * 4 * 2), f(2 * 4 * 3), f(2 * 4 * 2), 2, 4, 4, 2, 1, 0, 2)).toThrow(/attentionGroups needs q, out \[groups, rows, dHead\]/);
    const shared = f(64);
    expect(() => k.attentionGroups(shared.subarray(0, 16), f(16), f(16), f(32), shared.subarray(8, 24), 2, 4, 4, 2, 1, 0, 2)).toThrow(/must not overlap/);
    const x = new Float32Array(8);
    expect(() => k.rotary(x, new Float32Array(4), new Float32Array(4), x, 2, 4)).toThrow(/rotary's out overlaps x/);
    expect(() => (k.layerNorm as (...a: unknown[]) => void)(new Float32Array(4), new Float64Array(4), new Float32Array(4), 1e-5, new Float32Array(4))).toThrow(TypeError);
  });

  it("RMSNorm, LayerNorm, SwiGLU and gelu_new on 1-5 threads: bit for bit the one-thread result, shares of uneven size, in place too", () => {
    const k = kernels!;
    // 300 rows of 997: large enough to split (at least 2^16 values a share), uneven shares.
    const rows = 300, width = 997, n = rows * width;
    const x = values(n, 11), up = values(n, 12), gain = values(width, 13), bias = values(width, 14);
    const run = (threads: number) => {
      const out = { rms: new Float32Array(n), ln: new Float32Array(n), swiglu: new Float32Array(n), gelu: new Float32Array(n), inPlace: Float32Array.from(x) };
      k.rmsNorm(x, gain, 1e-6, out.rms, threads);
      k.layerNorm(x, gain, bias, 1e-5, out.ln, threads);
      k.swiglu(x, up, out.swiglu, threads);
      k.geluTanh(x, out.gelu, threads);
      k.swiglu(out.inPlace, up, out.inPlace, threads); // out is gate
      return out;
    };
    const one = run(1);
    const sameBits = (a: Float32Array, b: Float32Array) => {
      const ua = new Uint32Array(a.buffer), ub = new Uint32Array(b.buffer);
      return ua.every((v, i) => v === ub[i]);
    };
    expect(sameBits(one.inPlace, one.swiglu)).toBe(true);
    for (const threads of [2, 3, 5]) {
      const many = run(threads);
      for (const name of ["rms", "ln", "swiglu", "gelu", "inPlace"] as const) expect(sameBits(many[name], one[name]), `${name} on ${threads} threads`).toBe(true);
    }
    expect(() => k.swiglu(x, up, one.swiglu, 0)).toThrow(TypeError);
  });
});
