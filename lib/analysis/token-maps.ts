/**
 * Per-token maps over one text, for the token heatmaps (LLM-Microscope's paper, arXiv 2502.15007,
 * shows these over sentences): per state the L2 norm of each token's hidden state and the
 * logit-lens loss of the token, and per block (state b -> b + 1) each token's nonlinearity, the
 * relative residual of the least-squares linear map, 1 - tokenLinearity(relative).
 *
 * The linear map of each block is fitted on a hidden-state dataset (`fit`, e.g. the shipped
 * held-out states) together with the text's own tokens, so that a short text is judged by the
 * map of a whole corpus, not by a map fitted to its own few tokens (which, with fewer tokens than
 * d_model, would fit them exactly).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HiddenStateDataset } from "../dataset/reader";
import { lensSequences, type LensModel } from "../lens/lens";
import { sequenceLength } from "../models/open";
import { tokenLinearity } from "../metrics/token-linearity";
import { tokenPieces, type TextTokenizer } from "../tokenizer";

/** Per-token maps over one text: ids, token pieces and, per state or block, norm, lens loss and nonlinearity `[tokens]`. */
export interface TokenMaps {
  /** [pos] token ids, BOS first when the model has one. */
  ids: Int32Array;
  /** [pos] the text of each token (tokenPieces; BOS shown as ⟨bos⟩). */
  tokens: string[];
  /** [state][pos] L2 norm of each token's hidden state. */
  norm: Float64Array[];
  /**
   * [state][pos] logit-lens loss (nats) of token pos, predicted from state s at position pos - 1
   * (NaN at pos 0, which nothing predicts).
   */
  lensLoss: Float64Array[];
  /** [block][pos] 1 - relative per-token linearity of state b -> b + 1 (0 = perfectly linear). */
  nonlinearity: Float64Array[];
}

/** Options of `tokenMaps`: the dataset the per-block linear maps are fitted on (`fit`) and how many of its tokens (`fitTokens`). */
export interface TokenMapsOptions {
  /** Hidden states whose tokens the linear maps are fitted on (with the text's). */
  fit: HiddenStateDataset;
  /** Use the first fitTokens tokens of `fit` (default all). */
  fitTokens?: number;
}

/** Compute {@link TokenMaps} for `text` (see the file comment). */
export async function tokenMaps(model: LensModel, tokenizer: TextTokenizer, text: string, opts: TokenMapsOptions): Promise<TokenMaps> {
  const cfg = model.config;
  const S = cfg.n_layers + 1, d = cfg.d_model;
  if (opts.fit.nStates !== S || opts.fit.dModel !== d) {
    throw new Error(
      `tokenMaps: 'fit' has ${opts.fit.nStates} states of d_model ${opts.fit.dModel}, the model gives ${S} of ${d}`,
    );
  }
  const enc = tokenizer.encode(text);
  const bos = tokenizer.bosTokenId;
  const ids = Int32Array.from(bos === undefined ? enc.ids : [bos, ...enc.ids]);
  if (ids.length < 2) throw new Error("tokenMaps: 'text' gives fewer than 2 tokens");
  sequenceLength(cfg, ids.length, ids.length, "tokenMaps: the text's token count"); // refused past learned positions only
  const tokens = tokenPieces(text, enc.offsets, bos !== undefined);
  const pos = ids.length;

  // Hidden states of the text: n_layers + 1 x [pos, d_model].
  const out = model.forward(tf.tensor2d(ids, [1, pos], "int32"), { logits: false });
  const states = out.hiddenStates.map((h) => Float32Array.from(h.dataSync()));
  tf.dispose([out.residPreFinalNorm, ...out.hiddenStates]);

  // Norms per state and token.
  const norm = states.map((x) => {
    const r = new Float64Array(pos);
    for (let t = 0; t < pos; t++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[t * d + c] ** 2;
      r[t] = Math.sqrt(s);
    }
    return r;
  });

  // Lens losses, shifted so that token t carries the loss of predicting it.
  const [lens] = await lensSequences(model, [ids]);
  const lensLoss = lens.loss.map((l) => {
    const r = new Float64Array(pos).fill(NaN);
    for (let t = 1; t < pos; t++) r[t] = l[t - 1];
    return r;
  });

  // Nonlinearity per block: map fitted on the dataset's tokens plus the text's.
  const n = Math.min(opts.fit.nTokens, opts.fitTokens ?? opts.fit.nTokens);
  const nonlinearity: Float64Array[] = [];
  for (let b = 0; b < S - 1; b++) {
    const x = tf.tidy(() => tf.concat([tf.tensor2d(opts.fit.rows(b, 0, n), [n, d]), tf.tensor2d(states[b], [pos, d])]) as tf.Tensor2D);
    const y = tf.tidy(() => tf.concat([tf.tensor2d(opts.fit.rows(b + 1, 0, n), [n, d]), tf.tensor2d(states[b + 1], [pos, d])]) as tf.Tensor2D);
    let rel: Float64Array;
    try {
      rel = tokenLinearity(x, y, { relative: true });
    } finally {
      tf.dispose([x, y]);
    }
    nonlinearity.push(Float64Array.from(rel.subarray(n), (v) => 1 - v));
  }
  return { ids, tokens, norm, lensLoss, nonlinearity };
}
