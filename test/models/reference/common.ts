/**
 * Float64 building blocks for the reference forward passes. Plain loops over plain arrays, no
 * tfjs, written from the definitions (not from lib/models), so a bug there cannot hide here.
 * A sequence is an array of rows, one Float64Array per position.
 */
import * as fs from "fs";
import * as path from "path";
import { readSafetensors } from "../../../lib/io/safetensors";

export type Rows = Float64Array[];

/** A weight read as float64 with its shape. */
export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

/** A checkpoint folder read for the reference: raw config.json and every tensor by its file name. */
export interface RefCheckpoint {
  config: Record<string, any>;
  tensors: Map<string, RefTensor>;
}

/** Read config.json and all safetensors files of a folder (single file or shards). */
export function readCheckpoint(dir: string): RefCheckpoint {
  const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".safetensors"));
  const tensors = new Map<string, RefTensor>();
  for (const f of files) {
    const st = readSafetensors(path.join(dir, f));
    for (const name of st.names) tensors.set(name, { shape: st.tensors[name].shape, data: Float64Array.from(st.tensors[name].read()) });
  }
  return { config, tensors };
}

/** Look a tensor up under any of the given names (model classes differ in prefixes). */
export function weight(ck: RefCheckpoint, ...names: string[]): RefTensor {
  for (const n of names) {
    const t = ck.tensors.get(n);
    if (t) return t;
  }
  throw new Error(`reference: none of ${names.join(", ")} in checkpoint`);
}

/** nn.Linear: y[o] = sum_i W[o, i] x[i] + b[o], with W stored [out, in]. */
export function linearOutIn(x: Rows, w: RefTensor, b?: RefTensor): Rows {
  const [nOut, nIn] = w.shape;
  return x.map((row) => {
    const y = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < nIn; i++) s += w.data[o * nIn + i] * row[i];
      y[o] = s;
    }
    return y;
  });
}

/** Conv1D (GPT-2): y[o] = sum_i W[i, o] x[i] + b[o], with W stored [in, out]. */
export function linearInOut(x: Rows, w: RefTensor, b?: RefTensor): Rows {
  const [nIn, nOut] = w.shape;
  return x.map((row) => {
    const y = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < nIn; i++) s += w.data[i * nOut + o] * row[i];
      y[o] = s;
    }
    return y;
  });
}

export function addRows(a: Rows, b: Rows): Rows {
  return a.map((row, t) => row.map((v, i) => v + b[t][i]));
}

export function mapRows(a: Rows, f: (v: number) => number): Rows {
  return a.map((row) => row.map(f));
}

/** LayerNorm with biased variance. */
export function layerNormRows(x: Rows, g: RefTensor, b: RefTensor, eps: number): Rows {
  return x.map((row) => {
    const n = row.length;
    let mean = 0;
    for (const v of row) mean += v / n;
    let variance = 0;
    for (const v of row) variance += (v - mean) ** 2 / n;
    const inv = 1 / Math.sqrt(variance + eps);
    return row.map((v, i) => (v - mean) * inv * g.data[i] + b.data[i]);
  });
}

/** RMSNorm: x / sqrt(mean(x^2) + eps) * g. */
export function rmsNormRows(x: Rows, g: RefTensor, eps: number): Rows {
  return x.map((row) => {
    let ms = 0;
    for (const v of row) ms += (v * v) / row.length;
    const inv = 1 / Math.sqrt(ms + eps);
    return row.map((v, i) => v * inv * g.data[i]);
  });
}

export const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const relu = (x: number) => Math.max(0, x);
export const silu = (x: number) => x / (1 + Math.exp(-x));

/**
 * Causal multi-head attention on projected q [pos][n_heads*d_head], k, v [pos][n_kv*d_head].
 * Query head h uses kv head floor(h * n_kv / n_heads). Returns [pos][n_heads*d_head].
 */
export function attentionRows(q: Rows, k: Rows, v: Rows, nHeads: number, nKv: number, dHead: number, scale: number): Rows {
  const nPos = q.length;
  const out: Rows = q.map(() => new Float64Array(nHeads * dHead));
  for (let h = 0; h < nHeads; h++) {
    const kvh = Math.floor((h * nKv) / nHeads);
    for (let t = 0; t < nPos; t++) {
      const scores: number[] = [];
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let i = 0; i < dHead; i++) dot += q[t][h * dHead + i] * k[s][kvh * dHead + i];
        scores.push(dot * scale);
      }
      const max = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - max));
      const z = e.reduce((a, c) => a + c, 0);
      for (let s = 0; s <= t; s++) {
        for (let i = 0; i < dHead; i++) out[t][h * dHead + i] += (e[s] / z) * v[s][kvh * dHead + i];
      }
    }
  }
  return out;
}

/** Logits against a [d_vocab, width] matrix (tied embedding or lm_head): y[v] = sum_i E[v, i] x[i]. */
export function logitsRows(x: Rows, e: RefTensor): Rows {
  return linearOutIn(x, e);
}

/** One block's named states, each [pos][d_model] (an overridden block has only its input and output). */
export interface RefBlock {
  resid_pre: Rows;
  attn_out?: Rows;
  resid_mid?: Rows;
  mlp_out?: Rows;
  resid_post: Rows;
}

/**
 * Output of a reference forward: n_layers + 1 states (each [pos][d_model]), every block's named
 * states, the state after the final norm and logits [pos][d_vocab].
 */
export interface RefOutput {
  states: Rows[];
  blocks: RefBlock[];
  residPreFinalNorm: Rows;
  lnFinal: Rows;
  logits: Rows;
}

/** Options of a reference forward: replace block l by a function of its input (undefined: run it). */
export interface RefOptions {
  override?: (block: number, residPre: Rows) => Rows | undefined;
}
