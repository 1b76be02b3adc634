/**
 * Llama weights in the project's layout: dense weights are [in, out] (x @ W), so every
 * nn.Linear weight of a HF checkpoint is stored transposed here (see convert.ts).
 */
import * as tf from "@tensorflow/tfjs-core";

/** One Llama block's weights. Biases exist only when the config enables them. */
export interface LlamaLayerParams {
  /** RMSNorm gain before attention (HF input_layernorm): [d_model]. */
  attnNorm: tf.Tensor1D;
  /** Query projection: [d_model, n_heads * d_head]. */
  wq: tf.Tensor2D;
  /** Key projection: [d_model, n_kv_heads * d_head]. */
  wk: tf.Tensor2D;
  /** Value projection: [d_model, n_kv_heads * d_head]. */
  wv: tf.Tensor2D;
  /** Attention output projection: [n_heads * d_head, d_model]. */
  wo: tf.Tensor2D;
  /** Attention biases (attention_bias=true): [n_heads * d_head], [n_kv_heads * d_head] x2, [d_model]. */
  bq?: tf.Tensor1D;
  bk?: tf.Tensor1D;
  bv?: tf.Tensor1D;
  bo?: tf.Tensor1D;
  /** RMSNorm gain before the MLP (HF post_attention_layernorm): [d_model]. */
  mlpNorm: tf.Tensor1D;
  /** SwiGLU gate projection: [d_model, d_mlp]. */
  wGate: tf.Tensor2D;
  /** SwiGLU up projection: [d_model, d_mlp]. */
  wUp: tf.Tensor2D;
  /** MLP down projection: [d_mlp, d_model]. */
  wDown: tf.Tensor2D;
  /** MLP biases (mlp_bias=true): [d_mlp], [d_mlp], [d_model]. */
  bGate?: tf.Tensor1D;
  bUp?: tf.Tensor1D;
  bDown?: tf.Tensor1D;
}

/** All Llama weights. */
export interface LlamaParams {
  /** Token embedding: [d_vocab, d_model]. */
  embed: tf.Tensor2D;
  /** One entry per block, in order. */
  layers: LlamaLayerParams[];
  /** Final RMSNorm gain (HF model.norm): [d_model]. */
  finalNorm: tf.Tensor1D;
  /** Output projection [d_model, d_vocab]; absent when tied to the embedding (logits = x @ embed^T). */
  lmHead?: tf.Tensor2D;
}

/** Apply fn to every tensor (e.g. `t => tf.variable(t)` for training), keeping the structure. */
export function mapLlamaParams(p: LlamaParams, fn: (t: tf.Tensor, name: string) => tf.Tensor): LlamaParams {
  const m = <T extends tf.Tensor>(t: T, name: string): T => fn(t, name) as T;
  const opt = <T extends tf.Tensor>(t: T | undefined, name: string): T | undefined => (t === undefined ? undefined : m(t, name));
  return {
    embed: m(p.embed, "embed"),
    layers: p.layers.map((l, i) => ({
      attnNorm: m(l.attnNorm, `layers.${i}.attnNorm`),
      wq: m(l.wq, `layers.${i}.wq`), wk: m(l.wk, `layers.${i}.wk`), wv: m(l.wv, `layers.${i}.wv`), wo: m(l.wo, `layers.${i}.wo`),
      bq: opt(l.bq, `layers.${i}.bq`), bk: opt(l.bk, `layers.${i}.bk`), bv: opt(l.bv, `layers.${i}.bv`), bo: opt(l.bo, `layers.${i}.bo`),
      mlpNorm: m(l.mlpNorm, `layers.${i}.mlpNorm`),
      wGate: m(l.wGate, `layers.${i}.wGate`), wUp: m(l.wUp, `layers.${i}.wUp`), wDown: m(l.wDown, `layers.${i}.wDown`),
      bGate: opt(l.bGate, `layers.${i}.bGate`), bUp: opt(l.bUp, `layers.${i}.bUp`), bDown: opt(l.bDown, `layers.${i}.bDown`),
    })),
    finalNorm: m(p.finalNorm, "finalNorm"),
    lmHead: opt(p.lmHead, "lmHead"),
  };
}

/** Every tensor in the params, named (same names as mapLlamaParams passes). */
export function llamaParamList(p: LlamaParams): { name: string; tensor: tf.Tensor }[] {
  const out: { name: string; tensor: tf.Tensor }[] = [];
  mapLlamaParams(p, (t, name) => {
    out.push({ name, tensor: t });
    return t;
  });
  return out;
}

/** Dispose every tensor in the params. */
export function disposeLlamaParams(p: LlamaParams): void {
  for (const { tensor } of llamaParamList(p)) tensor.dispose();
}
