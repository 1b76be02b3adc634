/** OPT weights in the project's layout: dense weights [in, out] (x @ W). */
import type * as tf from "@tensorflow/tfjs-core";

/** One OPT block's weights. Biases exist unless enable_bias=false. */
export interface OptLayerParams {
  /** LayerNorm around attention (self_attn_layer_norm): gain, bias [d_model]. */
  attnNormGain: tf.Tensor1D;
  attnNormBias: tf.Tensor1D;
  /** q, k, v, out projections: [d_model, d_model]; biases [d_model]. */
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  wo: tf.Tensor2D;
  bq?: tf.Tensor1D;
  bk?: tf.Tensor1D;
  bv?: tf.Tensor1D;
  bo?: tf.Tensor1D;
  /** LayerNorm around the MLP (the block's final_layer_norm): gain, bias [d_model]. */
  mlpNormGain: tf.Tensor1D;
  mlpNormBias: tf.Tensor1D;
  /** fc1 [d_model, d_mlp] (+ [d_mlp]) and fc2 [d_mlp, d_model] (+ [d_model]). */
  wFc1: tf.Tensor2D;
  bFc1?: tf.Tensor1D;
  wFc2: tf.Tensor2D;
  bFc2?: tf.Tensor1D;
}

/** All OPT weights. */
export interface OptParams {
  /** Token embedding: [d_vocab, d_embed] (d_embed = word_embed_proj_dim, usually d_model). */
  tokenEmbed: tf.Tensor2D;
  /** Learned positions with HF's 2 offset rows removed: row p is position p, [n_ctx, d_model]. */
  posEmbed: tf.Tensor2D;
  /** project_in [d_embed, d_model], only when d_embed != d_model. */
  projectIn?: tf.Tensor2D;
  layers: OptLayerParams[];
  /** Decoder final LayerNorm [d_model], for pre-LN models (absent for post-LN OPT-350m). */
  finalGain?: tf.Tensor1D;
  finalBias?: tf.Tensor1D;
  /** project_out [d_model, d_embed], only when d_embed != d_model. */
  projectOut?: tf.Tensor2D;
  /** Output projection [d_embed, d_vocab]; absent when tied to the token embedding (the default). */
  lmHead?: tf.Tensor2D;
}
