/**
 * Synthetic [tokens, d_model] float32 pairs for bench/widths.ts, written as .npy files.
 *
 * X [n, d] and Y = X + 0.5 tanh(2 X W / sqrt(d)) + 0.05 noise. "well": independent Gaussian
 * columns with scales 0.5 .. 1.5. "ill" (anisotropic, like real hidden states): every column
 * shares one direction, x_j = z_0 + s_j z_j with s_j geometric from 1 down to 1e-2, and two
 * massive-activation columns x100. The product X W runs on the native BLAS (sgemm) when loaded,
 * else on tfjs.
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs-core";
import { npyHeaderBytes, writeNpy } from "../lib/io/npy";
import { nativeBlas } from "../lib/native";
import { fillNormal, normalRng } from "../lib/numerics";

/** Rows [r, d] times W [d, d] in float32. */
function times(xb: Float32Array, r: number, d: number, W: Float32Array): Float32Array {
  const blas = nativeBlas();
  if (blas) {
    const out = new Float32Array(r * d);
    blas.gemm(false, false, r, d, d, 1, xb, d, W, d, 0, out, d);
    return out;
  }
  return tf.tidy(() => tf.matMul(tf.tensor2d(xb, [r, d]), tf.tensor2d(W, [d, d])).dataSync() as Float32Array);
}

/** Write the pair (see the file comment) to `dir`; returns the two file names. */
export function makePair(n: number, d: number, kind: string, dir: string): { x: string; y: string } {
  const rng = normalRng(d * 31 + n);
  const W = fillNormal(new Float32Array(d * d), rng).map((v) => (2 * v) / Math.sqrt(d));
  const ill = kind === "ill";
  const scale = Float32Array.from({ length: d }, (_, c) => (ill ? Math.pow(1e-2, c / (d - 1)) : 0.5 + ((c * 7919) % 100) / 100));
  const x = new Float32Array(n * d), y = new Float32Array(n * d);
  for (let r0 = 0; r0 < n; r0 += 2048) {
    const r = Math.min(n, r0 + 2048) - r0;
    const xb = fillNormal(new Float32Array(r * d), rng);
    for (let t = 0; t < r; t++) {
      const z0 = rng();
      for (let c = 0; c < d; c++) {
        const k = t * d + c;
        xb[k] = ill ? (c < 2 ? 100 : 1) * (z0 + scale[c] * xb[k]) : scale[c] * xb[k];
      }
    }
    const xw = times(xb, r, d, W);
    for (let k = 0; k < xw.length; k++) xw[k] = xb[k] + 0.5 * Math.tanh(xw[k]) + 0.05 * rng();
    x.set(xb, r0 * d);
    y.set(xw, r0 * d);
  }
  const files = { x: path.join(dir, `x-${d}-${n}-${kind}.npy`), y: path.join(dir, `y-${d}-${n}-${kind}.npy`) };
  writeNpy(files.x, { dtype: "float32", shape: [n, d], data: x });
  writeNpy(files.y, { dtype: "float32", shape: [n, d], data: y });
  return files;
}

/**
 * A large pair written chunk by chunk (never whole in memory), for the peak-memory line:
 * X Gaussian with column scales 0.5 .. 1.5, Y_j = 0.8 X_j + 0.3 tanh(X_{j+1}) + 0.05 noise
 * (O(tokens d_model) to make; the score's cost does not depend on the map).
 */
export function writeLargePair(n: number, d: number, dir: string): { x: string; y: string } {
  const files = { x: path.join(dir, `x-${d}-${n}-large.npy`), y: path.join(dir, `y-${d}-${n}-large.npy`) };
  const fx = fs.openSync(files.x, "w"), fy = fs.openSync(files.y, "w");
  try {
    fs.writeSync(fx, npyHeaderBytes("float32", [n, d]));
    fs.writeSync(fy, npyHeaderBytes("float32", [n, d]));
    const rng = normalRng(d * 17 + n);
    const scale = Float32Array.from({ length: d }, (_, c) => 0.5 + ((c * 7919) % 100) / 100);
    const rows = 1024;
    for (let r0 = 0; r0 < n; r0 += rows) {
      const r = Math.min(n, r0 + rows) - r0;
      const xb = fillNormal(new Float32Array(r * d), rng), yb = new Float32Array(r * d);
      for (let k = 0; k < xb.length; k++) xb[k] *= scale[k % d];
      for (let t = 0; t < r; t++) {
        for (let c = 0; c < d; c++) {
          const k = t * d + c;
          yb[k] = 0.8 * xb[k] + 0.3 * Math.tanh(xb[t * d + ((c + 1) % d)]) + 0.05 * rng();
        }
      }
      fs.writeSync(fx, new Uint8Array(xb.buffer));
      fs.writeSync(fy, new Uint8Array(yb.buffer));
    }
  } finally {
    fs.closeSync(fx);
    fs.closeSync(fy);
  }
  return files;
}
