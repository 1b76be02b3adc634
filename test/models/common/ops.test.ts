/** Invariants of the shared building blocks, checked against definitions and float64 sums. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { geluErf, geluTanh, silu } from "../../../lib/models/common/activations";
import { causalAttention } from "../../../lib/models/common/attention";
import { embed } from "../../../lib/models/common/embedding";
import { ensureGradients } from "../../../lib/models/common/gradients";
import { batchedMatmul, linear, matmul } from "../../../lib/models/common/matmul";
import { layerNorm, rmsNorm } from "../../../lib/models/common/norm";
import { applyRotary, rotaryTables } from "../../../lib/models/common/rotary";

beforeAll(async () => {
  await initBackend({ quiet: true });
  ensureGradients();
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => Math.max(...tf.tidy(() => tf.abs(tf.sub(a, b))).dataSync());

describe("norms", () => {
  it("rmsNorm with unit gain gives rows of RMS 1; layerNorm gives mean 0, variance 1", () => {
    const x = tf.randomNormal([3, 5, 16], 2, 3, "float32", 7);
    const ones = tf.ones([16]) as tf.Tensor1D;
    const zeros = tf.zeros([16]) as tf.Tensor1D;
    const r = rmsNorm(x, ones, 1e-12).arraySync() as number[][][];
    const l = layerNorm(x, ones, zeros, 1e-12).arraySync() as number[][][];
    for (const row of r.flat()) expect(Math.abs(Math.sqrt(row.reduce((s, v) => s + v * v, 0) / 16) - 1)).toBeLessThan(1e-5);
    for (const row of l.flat()) {
      const mean = row.reduce((s, v) => s + v, 0) / 16;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / 16;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(variance - 1)).toBeLessThan(1e-4);
    }
  });
});

describe("activations", () => {
  it("match their formulas at known points", () => {
    const x = tf.tensor1d([-3, -1, 0, 0.5, 1, 2]);
    const xs = [-3, -1, 0, 0.5, 1, 2];
    const tanhRef = xs.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    const siluRef = xs.map((v) => v / (1 + Math.exp(-v)));
    geluTanh(x).dataSync().forEach((v, i) => expect(Math.abs(v - tanhRef[i])).toBeLessThan(1e-6));
    silu(x).dataSync().forEach((v, i) => expect(Math.abs(v - siluRef[i])).toBeLessThan(1e-6));
    // gelu(1) = 0.5 (1 + erf(1/sqrt 2)) = 0.8413447460685429; tfjs erf is a polynomial approximation.
    expect(Math.abs(geluErf(tf.scalar(1)).dataSync()[0] - 0.8413447460685429)).toBeLessThan(1e-4);
  });
});

describe("rotary embeddings (HF rotate_half layout)", () => {
  it("preserve the norm of every (i, i + d_head/2) pair, are the identity at pos 0", () => {
    const x = tf.randomNormal([2, 3, 6, 8], 0, 1, "float32", 3) as tf.Tensor4D;
    const { cos, sin } = rotaryTables(6, 8, 10000);
    const y = applyRotary(x, cos, sin);
    const xa = x.arraySync() as number[][][][];
    const ya = y.arraySync() as number[][][][];
    for (let b = 0; b < 2; b++) for (let h = 0; h < 3; h++) for (let p = 0; p < 6; p++) {
      for (let i = 0; i < 4; i++) {
        const before = Math.hypot(xa[b][h][p][i], xa[b][h][p][i + 4]);
        const after = Math.hypot(ya[b][h][p][i], ya[b][h][p][i + 4]);
        expect(Math.abs(before - after)).toBeLessThan(1e-5);
      }
      if (p === 0) for (let i = 0; i < 8; i++) expect(Math.abs(ya[b][h][0][i] - xa[b][h][0][i])).toBeLessThan(1e-7);
    }
  });

  it("rotate pair i by pos * theta^(-2i/d_head), so q.k depends only on the offset", () => {
    const { cos, sin } = rotaryTables(5, 4, 100);
    // Pair 1 (i = 1) of a unit vector on x1 at position 3: angle 3 * 100^(-1/2) = 0.3.
    const x = tf.tensor4d([0, 1, 0, 0], [1, 1, 1, 4]);
    const at3 = applyRotary(tf.tile(x, [1, 1, 5, 1]) as tf.Tensor4D, cos, sin).arraySync() as number[][][][];
    expect(Math.abs(at3[0][0][3][1] - Math.cos(0.3))).toBeLessThan(1e-6);
    expect(Math.abs(at3[0][0][3][3] - Math.sin(0.3))).toBeLessThan(1e-6);
    // Relative position: <R_p q, R_s k> is the same for (p, s) = (3, 1) and (4, 2).
    const q = tf.tile(tf.tensor4d([0.3, -1.2, 0.7, 2.0], [1, 1, 1, 4]), [1, 1, 5, 1]) as tf.Tensor4D;
    const k = tf.tile(tf.tensor4d([1.1, 0.4, -0.5, 0.9], [1, 1, 1, 4]), [1, 1, 5, 1]) as tf.Tensor4D;
    const qr = applyRotary(q, cos, sin).arraySync() as number[][][][];
    const kr = applyRotary(k, cos, sin).arraySync() as number[][][][];
    const dot = (p: number, s: number) => qr[0][0][p].reduce((acc, v, i) => acc + v * kr[0][0][s][i], 0);
    expect(Math.abs(dot(3, 1) - dot(4, 2))).toBeLessThan(1e-5);
    expect(Math.abs(dot(3, 1) - dot(3, 2))).toBeGreaterThan(1e-3);
  });

  it("partial rotary (GPT-NeoX rotary_pct): rotates the first rotary_dim dims as a head of that width, passes the rest", () => {
    // d_head 8, rotary_dim 4: pairs (0, 2) and (1, 3) rotate with angles pos * theta^(-2i/4).
    const x = tf.randomNormal([1, 2, 5, 8], 0, 1, "float32", 11) as tf.Tensor4D;
    const { cos, sin } = rotaryTables(5, 4, 10000);
    const y = applyRotary(x, cos, sin).arraySync() as number[][][][];
    const xa = x.arraySync() as number[][][][];
    for (let h = 0; h < 2; h++) for (let p = 0; p < 5; p++) {
      for (let i = 0; i < 2; i++) {
        const angle = p * Math.pow(10000, (-2 * i) / 4);
        const a = xa[0][h][p][i], b = xa[0][h][p][i + 2];
        expect(Math.abs(y[0][h][p][i] - (a * Math.cos(angle) - b * Math.sin(angle)))).toBeLessThan(1e-5);
        expect(Math.abs(y[0][h][p][i + 2] - (b * Math.cos(angle) + a * Math.sin(angle)))).toBeLessThan(1e-5);
      }
      for (let i = 4; i < 8; i++) expect(y[0][h][p][i]).toBe(xa[0][h][p][i]);
    }
    const wide = rotaryTables(5, 10, 10000);
    expect(() => applyRotary(x, wide.cos, wide.sin)).toThrow(/applyRotary: cos \[5,10\] \/ sin \[5,10\] do not fit heads of width 8/);
  });
});

describe("causal attention", () => {
  it("grouped-query attention equals multi-head attention with each kv head repeated", () => {
    const q = tf.randomNormal([2, 6, 5, 4], 0, 1, "float32", 1) as tf.Tensor4D;
    const k = tf.randomNormal([2, 2, 5, 4], 0, 1, "float32", 2) as tf.Tensor4D;
    const v = tf.randomNormal([2, 2, 5, 4], 0, 1, "float32", 3) as tf.Tensor4D;
    // HF repeat_kv: kv head j serves query heads 3j, 3j+1, 3j+2.
    const repeat = (t: tf.Tensor4D) => tf.reshape(tf.tile(tf.expandDims(t, 2), [1, 1, 3, 1, 1]), [2, 6, 5, 4]) as tf.Tensor4D;
    const gqa = causalAttention(q, k, v, 0.5);
    const mha = causalAttention(q, repeat(k), repeat(v), 0.5);
    expect(maxAbs(gqa, mha)).toBeLessThan(1e-6);
  });

  it("is causal (later keys do not change earlier outputs) and matches a direct softmax", () => {
    const q = tf.randomNormal([1, 2, 4, 3], 0, 1, "float32", 4) as tf.Tensor4D;
    const k = tf.randomNormal([1, 2, 4, 3], 0, 1, "float32", 5) as tf.Tensor4D;
    const v = tf.randomNormal([1, 2, 4, 3], 0, 1, "float32", 6) as tf.Tensor4D;
    const out = causalAttention(q, k, v, 0.7).arraySync() as number[][][][];
    const k2 = tf.concat([tf.slice(k, [0, 0, 0, 0], [1, 2, 3, 3]), tf.fill([1, 2, 1, 3], 9)], 2) as tf.Tensor4D;
    const out2 = causalAttention(q, k2, v, 0.7).arraySync() as number[][][][];
    for (let h = 0; h < 2; h++) for (let p = 0; p < 3; p++) for (let i = 0; i < 3; i++) expect(out2[0][h][p][i]).toBe(out[0][h][p][i]);
    // Direct float64 computation for head 1, query 2.
    const qa = q.arraySync()[0][1][2], ka = k.arraySync()[0][1], va = v.arraySync()[0][1];
    const s = [0, 1, 2].map((j) => 0.7 * qa.reduce((acc, x, i) => acc + x * ka[j][i], 0));
    const z = s.reduce((acc, x) => acc + Math.exp(x), 0);
    for (let i = 0; i < 3; i++) {
      const want = [0, 1, 2].reduce((acc, j) => acc + (Math.exp(s[j]) / z) * va[j][i], 0);
      expect(Math.abs(out[0][1][2][i] - want)).toBeLessThan(1e-5);
    }
  });

  it("with a sliding window W, query t reads only keys t-W+1..t (HF's sliding_window_overlay), as a direct softmax", () => {
    const q = tf.randomNormal([1, 4, 7, 3], 0, 1, "float32", 21) as tf.Tensor4D;
    const k = tf.randomNormal([1, 2, 7, 3], 0, 1, "float32", 22) as tf.Tensor4D;
    const v = tf.randomNormal([1, 2, 7, 3], 0, 1, "float32", 23) as tf.Tensor4D;
    const W = 3;
    const out = causalAttention(q, k, v, 0.6, W).arraySync() as number[][][][];
    const qa = q.arraySync()[0], ka = k.arraySync()[0], va = v.arraySync()[0];
    let worst = 0;
    for (let h = 0; h < 4; h++) for (let t = 0; t < 7; t++) {
      const kv = Math.floor(h / 2); // repeat_kv order: 2 query heads per kv head
      const keys = [];
      for (let s = Math.max(0, t - W + 1); s <= t; s++) keys.push(s);
      const sc = keys.map((s) => 0.6 * qa[h][t].reduce((acc, x, i) => acc + x * ka[kv][s][i], 0));
      const z = sc.reduce((acc, x) => acc + Math.exp(x), 0);
      for (let i = 0; i < 3; i++) {
        const want = keys.reduce((acc, s, j) => acc + (Math.exp(sc[j]) / z) * va[kv][s][i], 0);
        worst = Math.max(worst, Math.abs(out[0][h][t][i] - want));
      }
    }
    expect(worst).toBeLessThan(1e-5);
    // A window at least as long as the sequence is plain causal attention; a shorter one is not.
    expect(maxAbs(causalAttention(q, k, v, 0.6, 7), causalAttention(q, k, v, 0.6))).toBe(0);
    expect(maxAbs(causalAttention(q, k, v, 0.6, W), causalAttention(q, k, v, 0.6))).toBeGreaterThan(1e-3);
  });

  it("rejects mismatched head counts", () => {
    const q = tf.zeros([1, 4, 2, 3]) as tf.Tensor4D;
    const k = tf.zeros([1, 3, 2, 3]) as tf.Tensor4D;
    expect(() => causalAttention(q, k, k, 1)).toThrow(/causalAttention: q \[1,4,2,3\] does not match k \[1,3,2,3\]/);
  });
});

describe("matmul with explicit-transpose gradients", () => {
  it("gives tf.matMul's values and gradients (2-D and batched)", () => {
    for (const [sa, sb] of [[[5, 3], [3, 4]], [[2, 3, 5, 3], [2, 3, 3, 4]]] as const) {
      const a = tf.randomNormal([...sa], 0, 1, "float32", 8);
      const b = tf.randomNormal([...sb], 0, 1, "float32", 9);
      const w = tf.randomNormal([...sa.slice(0, -1), 4], 0, 1, "float32", 10);
      const loss = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), w));
      const mine = tf.grads(loss(matmul))([a, b]);
      const theirs = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
      expect(maxAbs(matmul(a, b), tf.matMul(a, b))).toBe(0);
      expect(maxAbs(mine[0], theirs[0])).toBeLessThan(1e-5);
      expect(maxAbs(mine[1], theirs[1])).toBeLessThan(1e-5);
    }
  });

  it("batchedMatmul (a depthwise convolution on wasm) gives float64 products and tf.matMul's gradients", () => {
    const [g, m, k, n] = [3, 5, 4, 6];
    const a = tf.randomNormal([g, m, k], 0, 1, "float32", 11) as tf.Tensor3D;
    const b = tf.randomNormal([g, k, n], 0, 1, "float32", 12) as tf.Tensor3D;
    const got = batchedMatmul(a, b);
    expect(got.shape).toEqual([g, m, n]);
    // Against float64 sums of the same float32 inputs, group by group.
    const av = a.arraySync(), bv = b.arraySync(), gv = got.arraySync();
    let worst = 0;
    for (let h = 0; h < g; h++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let t = 0; t < k; t++) sum += av[h][i][t] * bv[h][t][j];
      worst = Math.max(worst, Math.abs(sum - gv[h][i][j]));
    }
    expect(worst).toBeLessThan(1e-5);
    const w = tf.randomNormal([g, m, n], 0, 1, "float32", 13);
    const loss = (f: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor3D, y as tf.Tensor3D), w));
    const mine = tf.grads(loss(batchedMatmul))([a, b]);
    const theirs = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    expect(maxAbs(mine[0], theirs[0])).toBeLessThan(1e-5);
    expect(maxAbs(mine[1], theirs[1])).toBeLessThan(1e-5);
    expect(() => batchedMatmul(a, tf.zeros([g, k + 1, n]) as tf.Tensor3D)).toThrow(/batchedMatmul: shapes \[3,5,4\] and \[3,5,6\] do not multiply/);
  });

  it("rejects shapes that do not multiply", () => {
    expect(() => matmul(tf.zeros([2, 3]), tf.zeros([4, 2]))).toThrow(/matmul: shapes \[2,3\] and \[4,2\] do not multiply/);
    expect(() => linear(tf.zeros([1, 2, 3]), tf.zeros([4, 2]) as tf.Tensor2D)).toThrow(/linear: 'w' expected shape \[d_in=3, d_out\], got \[4,2\]/);
  });
});

describe("embedding", () => {
  it("looks rows up and sends gradients back to them (counting repeats) on this backend", () => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const ids = tf.tensor2d([[2, 0, 2]], [1, 3], "int32");
    expect(embed(table, ids).arraySync()).toEqual([[[5, 6], [1, 2], [5, 6]]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(embed(t as tf.Tensor2D, ids)))(table);
    expect(g.arraySync()).toEqual([[1, 1], [0, 0], [2, 2], [0, 0]]);
  });
});
