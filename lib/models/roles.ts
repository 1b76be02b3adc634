/**
 * One vocabulary for the weights of every family (the role names TransformerLens uses):
 * `embed`, `pos_embed`, and per block `ln1`, `attn.{q,k,v,o}`, `ln2`, `mlp.{in,gate,out}`, then
 * `ln_final` and `unembed`. Each family's convert.ts maps its checkpoint names onto these roles;
 * the forward passes, training and interventions only ever see these names.
 *
 * Dense weights use the project's [d_in, d_out] layout (y = x @ w + b), so nn.Linear weights of
 * a checkpoint are transposed on the way in.
 */
import * as tf from "@tensorflow/tfjs-core";

/** A dense projection: w [d_in, d_out], optional bias b [d_out]. */
export interface Dense {
  w: tf.Tensor2D;
  b?: tf.Tensor1D;
}

/** A LayerNorm (gain w and bias b) or RMSNorm (gain w only) over d_model: [d_model] each. */
export interface Norm {
  w: tf.Tensor1D;
  b?: tf.Tensor1D;
}

/** One transformer block's weights. */
export interface BlockWeights {
  /** Norm before attention (pre-LN) or after the attention residual (post-LN OPT). */
  ln1: Norm;
  /**
   * Attention projections: q [d_model, n_heads * d_head], k and v [d_model, n_kv_heads * d_head],
   * o [n_heads * d_head, d_model].
   */
  attn: { q: Dense; k: Dense; v: Dense; o: Dense };
  /** Norm before the MLP (pre-LN) or after the MLP residual (post-LN OPT). */
  ln2: Norm;
  /**
   * MLP: in [d_model, d_mlp] and out [d_mlp, d_model]; gated MLPs (SwiGLU) also have gate
   * [d_model, d_mlp] and compute act(x @ gate) * (x @ in) before out.
   */
  mlp: { in: Dense; gate?: Dense; out: Dense };
}

/** All weights of a decoder-only transformer, by role. */
export interface ModelWeights {
  /** Token embedding: [d_vocab, d_embed] (d_embed = d_model except OPT-350m-style models). */
  embed: tf.Tensor2D;
  /** Projection of the token embedding to d_model (OPT project_in): [d_embed, d_model]. */
  embed_proj?: Dense;
  /** Learned positions, row p = position p: [n_ctx, d_model]. Absent for rotary models. */
  pos_embed?: tf.Tensor2D;
  /** One entry per block, in order. */
  blocks: BlockWeights[];
  /** Norm after the last block: [d_model]. Absent for post-LN OPT models. */
  ln_final?: Norm;
  /** Projection back to d_embed before the output (OPT project_out): [d_model, d_embed]. */
  unembed_proj?: Dense;
  /** Output projection [d_embed, d_vocab]; absent when tied (logits = x @ embed^T). */
  unembed?: Dense;
}

/** Apply fn to one optional dense/norm, keeping undefined biases undefined. */
function mapPair<T extends Dense | Norm>(x: T, name: string, fn: <U extends tf.Tensor>(t: U, name: string) => U): T {
  return { ...x, w: fn(x.w, `${name}.w`), b: x.b === undefined ? undefined : fn(x.b, `${name}.b`) };
}

/**
 * Apply fn to every tensor (e.g. `t => tf.variable(t)` for training), keeping the structure.
 * fn receives the role name: `embed`, `pos_embed`, `blocks.3.attn.q.w`, `blocks.3.mlp.gate.b`,
 * `ln_final.w`, `unembed.w`, ...
 */
export function mapWeights(p: ModelWeights, fn: (t: tf.Tensor, name: string) => tf.Tensor): ModelWeights {
  const f = <U extends tf.Tensor>(t: U, name: string): U => {
    const out = fn(t, name);
    if (out.rank !== t.rank) throw new Error(`mapWeights: '${name}' changed rank from ${t.rank} to ${out.rank}`);
    return out as U; // same rank checked above, so U's rank type holds
  };
  const opt = <T extends Dense | Norm>(x: T | undefined, name: string) => (x === undefined ? undefined : mapPair(x, name, f));
  return {
    embed: f(p.embed, "embed"),
    embed_proj: opt(p.embed_proj, "embed_proj"),
    pos_embed: p.pos_embed === undefined ? undefined : f(p.pos_embed, "pos_embed"),
    blocks: p.blocks.map((b, l) => {
      const n = `blocks.${l}`;
      return {
        ln1: mapPair(b.ln1, `${n}.ln1`, f),
        attn: {
          q: mapPair(b.attn.q, `${n}.attn.q`, f), k: mapPair(b.attn.k, `${n}.attn.k`, f),
          v: mapPair(b.attn.v, `${n}.attn.v`, f), o: mapPair(b.attn.o, `${n}.attn.o`, f),
        },
        ln2: mapPair(b.ln2, `${n}.ln2`, f),
        mlp: { in: mapPair(b.mlp.in, `${n}.mlp.in`, f), gate: opt(b.mlp.gate, `${n}.mlp.gate`), out: mapPair(b.mlp.out, `${n}.mlp.out`, f) },
      };
    }),
    ln_final: opt(p.ln_final, "ln_final"),
    unembed_proj: opt(p.unembed_proj, "unembed_proj"),
    unembed: opt(p.unembed, "unembed"),
  };
}

/** Every tensor of the weights with its role name (the names mapWeights passes), in a fixed order. */
export function weightList(p: ModelWeights): { name: string; tensor: tf.Tensor }[] {
  const out: { name: string; tensor: tf.Tensor }[] = [];
  mapWeights(p, (t, name) => {
    out.push({ name, tensor: t });
    return t;
  });
  return out;
}

/** Dispose every tensor of the weights. */
export function disposeWeights(p: ModelWeights): void {
  for (const { tensor } of weightList(p)) tensor.dispose();
}
