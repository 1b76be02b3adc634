/** Types shared by every model family. */
import type * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "./config";

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Compute logits [batch, pos, d_vocab] (default true; extraction turns it off to save time). */
  readonly logits?: boolean;
  /**
   * Blocks whose computation is replaced: block l maps its input (resid_pre, [batch, pos,
   * d_model]) to its output with this function instead of attention + MLP. The identity skips
   * the block. Used by lib/interventions (pruning, linear replacement).
   */
  readonly replaceBlocks?: ReadonlyMap<number, (residPre: tf.Tensor3D) => tf.Tensor3D>;
}

/** What a forward pass returns. All tensors are new; the caller disposes them. */
export interface ForwardOutput {
  /**
   * n_layers + 1 tensors, each [batch, pos, d_model], as HF `output_hidden_states`:
   * state 0 = embedding output (+ learned positions for GPT-2/OPT), state l = output of block l
   * for l < n_layers, state n_layers = output of the last block after the final norm.
   */
  readonly hiddenStates: tf.Tensor3D[];
  /** Output of the last block before the final norm: [batch, pos, d_model]. */
  readonly residPreFinalNorm: tf.Tensor3D;
  /** Next-token logits [batch, pos, d_vocab], when asked for. */
  readonly logits?: tf.Tensor3D;
}

/** A loaded model: config plus weights, ready to run. */
export interface Model {
  readonly config: DecoderConfig;
  /** config.json as read. */
  readonly hfConfig: Record<string, unknown>;
  /** Run token ids [batch, pos] int32 (equal-length rows, no padding) through the model. */
  forward(ids: tf.Tensor2D, opts?: ForwardOptions): ForwardOutput;
  /** Free the weights. */
  dispose(): void;
}

/** Tensors by Hugging Face parameter name, in HF layout ([out, in] for nn.Linear). */
export type StateDict = Record<string, tf.Tensor>;
