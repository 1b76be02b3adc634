/**
 * What every family's forward pass shares, written once: the checks, the embedding, the loop
 * over blocks with named points and block overrides, the final norm and the logits. A family
 * supplies only its block (lib/models/<family>/forward.ts), which reads top to bottom from
 * resid_pre to resid_post.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { DecoderConfig } from "../config";
import type { BlockWeights, Dense, ModelWeights, Norm } from "../roles";
import { BLOCK_POINTS, HOOK_POINTS, type BlockPoint, type ForwardOptions, type ForwardOutput, type HookPoint } from "../types";
import { embed } from "./embedding";
import { ensureGradients } from "./gradients";
import { checkIds } from "./ids";
import { linear, transposeLast2 } from "./matmul";

/** A block's named states after its input resid_pre, each [batch, pos, d_model]. */
export interface BlockStates {
  attn_out: tf.Tensor3D;
  resid_mid: tf.Tensor3D;
  mlp_out: tf.Tensor3D;
  resid_post: tf.Tensor3D;
}

/** The family-specific part of a forward pass. */
export interface FamilyBlock<Ctx> {
  /** Name used in error messages, e.g. "llamaForward". */
  readonly name: string;
  /** Constants of one run that every block reads (e.g. rotary tables for `pos` positions). */
  prepare(cfg: DecoderConfig, nPos: number): Ctx;
  /** Block `layer` (0-based; per-block settings such as cfg.attn_window) on its input resid_pre [batch, pos, d_model]. */
  block(cfg: DecoderConfig, weights: BlockWeights, residPre: tf.Tensor3D, ctx: Ctx, layer: number): BlockStates;
  /** The family's norm (LayerNorm or RMSNorm), used after the last block. */
  norm(x: tf.Tensor3D, weights: Norm, eps: number): tf.Tensor3D;
}

/** `tf.tidy` for a block: its four states survive, every other tensor it made is disposed. */
function tidyBlock(fn: () => BlockStates): BlockStates {
  return tf.tidy(() => ({ ...fn() })) as unknown as BlockStates;
}

/** Throw a one-line error for an unknown point name. */
function checkPoints(fn: string, points: readonly HookPoint[]): void {
  for (const p of points) {
    if (!(HOOK_POINTS as readonly string[]).includes(p)) {
      throw new Error(`${fn}: unknown point '${p}' (known: ${HOOK_POINTS.join(", ")})`);
    }
  }
}

/** Where a run takes its weights from: resident ModelWeights, or read block by block (lib/models/stream/). */
export interface DecoderWeights {
  /** Blocks the weights hold. */
  readonly nBlocks: number;
  /** Learned positions [n_ctx, d_model], when the model has them. */
  readonly pos_embed?: tf.Tensor2D;
  /** OPT project_in, when present. */
  readonly embed_proj?: Dense;
  /** The final norm, absent in post-LN OPT models. */
  readonly ln_final?: Norm;
  /** Token embeddings of ids [batch, pos] int32: [batch, pos, d_embed]. */
  embedTokens(ids: tf.Tensor2D): tf.Tensor3D;
  /** Run `fn` on block l's weights (weights read for this call are released after it). */
  withBlock<T>(l: number, fn: (w: BlockWeights) => T): T;
  /** Logits [batch, pos, d_vocab] of final states [batch, pos, d_model] (project_out, then the output projection). */
  logits(final: tf.Tensor3D): tf.Tensor3D;
}

/** Resident weights as a {@link DecoderWeights}. */
export function residentWeights(p: ModelWeights): DecoderWeights {
  return {
    nBlocks: p.blocks.length,
    pos_embed: p.pos_embed,
    embed_proj: p.embed_proj,
    ln_final: p.ln_final,
    embedTokens: (ids) => embed(p.embed, ids),
    withBlock: (l, fn) => fn(p.blocks[l]),
    logits: (final) => {
      // project_out to d_embed if present (OPT), then the output projection, or the token
      // embedding transposed when tied.
      const out = p.unembed_proj !== undefined ? linear(final, p.unembed_proj.w, p.unembed_proj.b) : final;
      return p.unembed !== undefined ? linear(out, p.unembed.w, p.unembed.b) : linear(out, transposeLast2(p.embed));
    },
  };
}

/**
 * Run a decoder on ids [batch, pos] int32 (no padding). Returns n_layers + 1 hidden states
 * [batch, pos, d_model], the residual before the final norm, logits [batch, pos, d_vocab] unless
 * opts.logits is false, and the named points in opts.points.
 *
 * A pure, differentiable function of (config, weights, ids).
 */
export function runDecoder<Ctx>(
  family: FamilyBlock<Ctx>,
  cfg: DecoderConfig,
  p: ModelWeights,
  ids: tf.Tensor2D,
  opts: ForwardOptions = {},
): ForwardOutput {
  return runDecoderOn(family, cfg, residentWeights(p), ids, opts);
}

/** {@link runDecoder} on weights from any {@link DecoderWeights} (resident, or streamed from disk). */
export function runDecoderOn<Ctx>(
  family: FamilyBlock<Ctx>,
  cfg: DecoderConfig,
  p: DecoderWeights,
  ids: tf.Tensor2D,
  opts: ForwardOptions = {},
): ForwardOutput {
  const fn = family.name;
  checkIds(fn, cfg.d_vocab, ids, p.pos_embed?.shape[0]);
  if (p.nBlocks !== cfg.n_layers) {
    throw new Error(`${fn}: weights have ${p.nBlocks} blocks, config has n_layers=${cfg.n_layers}`);
  }
  const wanted = new Set(opts.points ?? []);
  checkPoints(fn, [...wanted]);
  const emit = opts.onHiddenState;
  if (emit !== undefined && (wanted.size > 0 || tf.engine().isTapeOn())) {
    throw new Error(`${fn}: onHiddenState cannot be combined with points or a gradient tape`);
  }
  // Gradients are needed only under a tape (tf.grad and friends record one while the pass runs);
  // loading them costs an inference run 70 ms of start-up.
  if (tf.engine().isTapeOn()) ensureGradients();
  const nPos = ids.shape[1];
  return tf.tidy(() => {
    const ctx = family.prepare(cfg, nPos);

    // Token embeddings [batch, pos, d_embed], projected to d_model if d_embed != d_model (OPT).
    let x: tf.Tensor3D = p.embedTokens(ids);
    if (p.embed_proj !== undefined) x = linear(x, p.embed_proj.w, p.embed_proj.b);
    // Plus learned positions 0..pos-1, [pos, d_model] broadcast over the batch (GPT-2, OPT).
    if (p.pos_embed !== undefined) x = tf.add(x, tf.slice(p.pos_embed, [0, 0], [nPos, cfg.d_model]));
    // Hidden states are kept for the output, or handed to onHiddenState as they come.
    const hiddenStates: tf.Tensor3D[] = [];
    let index = 0;
    const keep = (h: tf.Tensor3D): void => {
      if (emit === undefined) hiddenStates.push(h);
      else emit(index, h);
      index++;
    };
    keep(x);

    // The blocks, recording the points asked for: points[name][block].
    const recorded = new Map<BlockPoint, tf.Tensor3D[]>(BLOCK_POINTS.filter((n) => wanted.has(n)).map((n) => [n, []]));
    const record = (name: BlockPoint, t: tf.Tensor3D) => recorded.get(name)?.push(t);
    for (let l = 0; l < cfg.n_layers; l++) {
      const residPre = x;
      record("resid_pre", residPre);
      const replaced = opts.blockOverride?.(l, residPre);
      if (replaced === undefined) {
        // The block's intermediates (normed inputs, q/k/v, the MLP's hidden activations) go as it
        // returns: kept to the end of the pass they were most of its memory.
        const s = p.withBlock(l, (w) => tidyBlock(() => family.block(cfg, w, residPre, ctx, l)));
        record("attn_out", s.attn_out);
        record("resid_mid", s.resid_mid);
        record("mlp_out", s.mlp_out);
        // Inner points nobody asked for go now, not at the end of the pass: kept, they were three
        // more states per block (2.1 GB of the 7B's wasm heap at 1,024 tokens). A gradient tape
        // holds its own clone of what its backward needs, so this is safe under tf.grad too.
        for (const inner of ["attn_out", "resid_mid", "mlp_out"] as const) {
          const t = s[inner];
          if (!recorded.has(inner) && t !== s.resid_post && t !== residPre) t.dispose();
        }
        x = s.resid_post;
      } else {
        if (replaced.rank !== 3 || replaced.shape.some((d, i) => d !== residPre.shape[i])) {
          throw new Error(`${fn}: blockOverride for block ${l} returned shape [${replaced.shape.join(", ")}], expected [${residPre.shape.join(", ")}]`);
        }
        for (const inner of ["attn_out", "resid_mid", "mlp_out"] as const) {
          if (recorded.has(inner)) throw new Error(`${fn}: block ${l} is replaced by blockOverride, so it has no '${inner}' point`);
        }
        // A distinct handle even when the override returns its input (a removed block).
        x = replaced === residPre ? tf.clone(replaced) : replaced;
      }
      record("resid_post", x);
      // A state handed out has no further use once the block that read it has run.
      if (emit !== undefined && residPre !== x) residPre.dispose();
      // Block output is hidden state l + 1 (the last block's is replaced by its normed version).
      if (l < cfg.n_layers - 1) keep(x);
    }

    // Final norm (absent in post-LN OPT models): the last hidden state, as HF reports it.
    const residPreFinalNorm = x;
    const final = p.ln_final === undefined ? x : family.norm(x, p.ln_final, cfg.norm_eps);
    keep(final);

    // Each recorded point gets its own handle (clones share data), so disposing one is safe.
    const points: Partial<Record<HookPoint, tf.Tensor3D[]>> = {};
    for (const [name, ts] of recorded) points[name] = ts.map((t) => tf.clone(t));
    if (wanted.has("ln_final")) points.ln_final = [tf.clone(final)];

    // Logits [batch, pos, d_vocab].
    if (opts.logits === false) return { hiddenStates, residPreFinalNorm, points };
    return { hiddenStates, residPreFinalNorm, logits: p.logits(final), points };
  });
}
