/** GPT-NeoX (Pythia) weights in the project's layout: dense weights [in, out] (x @ W). */
import type * as tf from "@tensorflow/tfjs-core";

/** One GPT-NeoX block's weights. */
export interface NeoxLayerParams {
  /** LayerNorm before attention (input_layernorm): gain, bias [d_model]. */
  ln1Gain: tf.Tensor1D;
  ln1Bias: tf.Tensor1D;
  /** Query, key, value projections (split per head from the fused query_key_value): [d_model, d_model] each. */
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  /** Their biases [d_model] each (attention_bias, true in every Pythia). */
  bq?: tf.Tensor1D;
  bk?: tf.Tensor1D;
  bv?: tf.Tensor1D;
  /** Attention output projection (attention.dense): [d_model, d_model], bias [d_model]. */
  wo: tf.Tensor2D;
  bo?: tf.Tensor1D;
  /** LayerNorm before the MLP (post_attention_layernorm): gain, bias [d_model]. */
  ln2Gain: tf.Tensor1D;
  ln2Bias: tf.Tensor1D;
  /** MLP in (mlp.dense_h_to_4h): [d_model, d_mlp], bias [d_mlp]. */
  wIn: tf.Tensor2D;
  bIn: tf.Tensor1D;
  /** MLP out (mlp.dense_4h_to_h): [d_mlp, d_model], bias [d_model]. */
  wOut: tf.Tensor2D;
  bOut: tf.Tensor1D;
}

/** All GPT-NeoX weights. */
export interface NeoxParams {
  /** Token embedding (gpt_neox.embed_in): [d_vocab, d_model]. */
  tokenEmbed: tf.Tensor2D;
  layers: NeoxLayerParams[];
  /** Final LayerNorm (gpt_neox.final_layer_norm): gain, bias [d_model]. */
  finalGain: tf.Tensor1D;
  finalBias: tf.Tensor1D;
  /** Output projection (embed_out) [d_model, d_vocab]; absent when tied to embed_in. */
  lmHead?: tf.Tensor2D;
}
