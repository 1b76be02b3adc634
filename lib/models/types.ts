/** Types shared by every model family. */
import type * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "./config";
import type { Readout } from "./readout";
import type { ModelWeights } from "./roles";

/**
 * Named points inside each block, TransformerLens-style, all [batch, pos, d_model]:
 * - `resid_pre`: the block's input (the residual stream before it);
 * - `attn_out`: the attention sublayer's output (after its output projection, before the add);
 * - `resid_mid`: the residual stream between attention and MLP (resid_pre + attn_out for pre-LN
 *   blocks; LayerNorm(resid_pre + attn_out) for post-LN OPT blocks);
 * - `mlp_out`: the MLP sublayer's output (after its down projection, before the add);
 * - `resid_post`: the block's output (resid_mid + mlp_out, normed for post-LN OPT blocks).
 */
export const BLOCK_POINTS = ["resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"] as const;
/** One of the per-block points a forward pass can return (`BLOCK_POINTS`). */
export type BlockPoint = (typeof BLOCK_POINTS)[number];

/** Every point a run can read: the block points (one tensor per block) and `ln_final` (one tensor). */
export const HOOK_POINTS = [...BLOCK_POINTS, "ln_final"] as const;
/** One of the named points a forward pass can return (`HOOK_POINTS`). */
export type HookPoint = (typeof HOOK_POINTS)[number];

/**
 * A replacement for block `block`'s computation: given its input resid_pre [batch, pos, d_model],
 * return its output resid_post [batch, pos, d_model] (e.g. `(l, x) => x` removes the block, an
 * affine map replaces it by a linear one), or undefined to run the block as usual. Runs inside
 * the forward's tf.tidy: intermediate tensors are freed automatically.
 */
export type BlockOverride = (block: number, residPre: tf.Tensor3D) => tf.Tensor3D | undefined;

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Compute logits [batch, pos, d_vocab] (default true; extraction turns it off to save time). */
  readonly logits?: boolean;
  /** Named points to return in ForwardOutput.points (default none). */
  readonly points?: readonly HookPoint[];
  /** Replace some blocks' computation (see {@link BlockOverride}). */
  readonly blockOverride?: BlockOverride;
  /**
   * Hand each hidden state [batch, pos, d_model] (index 0..n_layers, as in
   * ForwardOutput.hiddenStates) to this callback as soon as it is computed, instead of returning
   * them: hiddenStates comes back empty, and each state is freed once the next block has used it,
   * so a pass holds two states instead of n_layers + 1 (extraction copies them out of the wasm
   * heap as they come). The callback must read the state before it returns and not dispose it.
   * Not with points, nor under a gradient tape.
   */
  readonly onHiddenState?: (index: number, state: tf.Tensor3D) => void;
}

/** What a forward pass returns. All tensors are new; the caller disposes them. */
export interface ForwardOutput {
  /**
   * n_layers + 1 tensors (none when ForwardOptions.onHiddenState took them), each
   * [batch, pos, d_model], as HF `output_hidden_states`:
   * state 0 = embedding output (+ learned positions for GPT-2/OPT), state l = output of block l
   * for l < n_layers, state n_layers = output of the last block after the final norm.
   */
  readonly hiddenStates: tf.Tensor3D[];
  /** Output of the last block before the final norm: [batch, pos, d_model]. */
  readonly residPreFinalNorm: tf.Tensor3D;
  /** Next-token logits [batch, pos, d_vocab], when asked for. */
  readonly logits?: tf.Tensor3D;
  /**
   * The points asked for in ForwardOptions.points: a block point maps to n_layers tensors
   * (index = block), `ln_final` to one. Each is its own tensor handle (safe to dispose
   * independently of hiddenStates).
   */
  readonly points: Partial<Record<HookPoint, tf.Tensor3D[]>>;
}

/** A loaded model: config plus weights, ready to run. */
export interface Model {
  readonly config: DecoderConfig;
  /** config.json as read. */
  readonly hfConfig: Record<string, unknown>;
  /**
   * The weights under their role names (owned by the model: do not dispose), when they are
   * resident; undefined for a model that streams its weights from disk block by block.
   */
  readonly weights?: ModelWeights;
  /** True when each forward reads the weights from disk one block at a time (lib/models/stream/). */
  readonly streamed: boolean;
  /** Run token ids [batch, pos] int32 (equal-length rows, no padding) through the model. */
  forward(ids: tf.Tensor2D, opts?: ForwardOptions): ForwardOutput;
  /** The final norm and unembedding, applied to any hidden state (the logit lens). */
  readonly readout: Readout;
  /** The weights as a Hugging Face state dict (new tensors in HF layout, ready for saveCheckpoint). */
  stateDict(): StateDict;
  /** Free the weights. */
  dispose(): void;
}

/** Tensors by Hugging Face parameter name, in HF layout ([out, in] for nn.Linear). */
export type StateDict = Record<string, tf.Tensor>;
