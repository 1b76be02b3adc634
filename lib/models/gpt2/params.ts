/** GPT-2 weights in the project's layout: dense weights [in, out] (x @ W). */
import type * as tf from "@tensorflow/tfjs-core";

/** One GPT-2 block's weights. */
export interface Gpt2LayerParams {
  /** LayerNorm before attention (ln_1): gain, bias [d_model]. */
  ln1Gain: tf.Tensor1D;
  ln1Bias: tf.Tensor1D;
  /** Query, key, value projections (split from the fused c_attn): [d_model, d_model] each. */
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  /** Their biases: [d_model] each. */
  bq: tf.Tensor1D;
  bk: tf.Tensor1D;
  bv: tf.Tensor1D;
  /** Attention output projection (attn.c_proj): [d_model, d_model], bias [d_model]. */
  wo: tf.Tensor2D;
  bo: tf.Tensor1D;
  /** LayerNorm before the MLP (ln_2): gain, bias [d_model]. */
  ln2Gain: tf.Tensor1D;
  ln2Bias: tf.Tensor1D;
  /** MLP in (mlp.c_fc): [d_model, d_mlp], bias [d_mlp]. */
  wIn: tf.Tensor2D;
  bIn: tf.Tensor1D;
  /** MLP out (mlp.c_proj): [d_mlp, d_model], bias [d_model]. */
  wOut: tf.Tensor2D;
  bOut: tf.Tensor1D;
}

/** All GPT-2 weights. */
export interface Gpt2Params {
  /** Token embedding (wte): [d_vocab, d_model]. */
  tokenEmbed: tf.Tensor2D;
  /** Learned positions (wpe): [n_ctx, d_model]. */
  posEmbed: tf.Tensor2D;
  layers: Gpt2LayerParams[];
  /** Final LayerNorm (ln_f): gain, bias [d_model]. */
  finalGain: tf.Tensor1D;
  finalBias: tf.Tensor1D;
  /** Output projection [d_model, d_vocab]; absent when tied to wte (the GPT-2 default). */
  lmHead?: tf.Tensor2D;
}
