/**
 * Float64 reference GPT-NeoX (Pythia) forward for one sequence, from the maths and HF weight
 * names: fused query_key_value laid out per head as [q_h, k_h, v_h] blocks of d_head rows,
 * rotary on the first rotary_ndims = int(d_head * rotary_pct) dimensions of each head (pairs
 * (i, i + rotary_ndims/2)), parallel (x + attn(ln1 x) + mlp(ln2 x)) or sequential residual.
 * For the parallel form resid_mid is x + attn(ln1 x), which the MLP does not read.
 */
import {
  addRows, attentionRows, geluErf, geluTanh, layerNormRows, linearOutIn, logitsRows, mapRows, relu, silu, weight,
  type RefBlock, type RefCheckpoint, type RefOptions, type RefOutput, type Rows,
} from "./common";

const ACTS: Record<string, (x: number) => number> = { gelu: geluErf, gelu_new: geluTanh, relu, silu };

/** Rotate pairs (i, i + rot/2), i < rot/2, of each head by pos * base^(-2i/rot); other dims pass. */
function partialRotary(x: Rows, nHeads: number, dHead: number, rot: number, base: number): Rows {
  const half = rot / 2;
  return x.map((row, pos) => {
    const out = Float64Array.from(row);
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < half; i++) {
        const angle = pos * Math.pow(base, (-2 * i) / rot);
        const a = row[h * dHead + i], b = row[h * dHead + half + i];
        out[h * dHead + i] = a * Math.cos(angle) - b * Math.sin(angle);
        out[h * dHead + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
    return out;
  });
}

export function neoxReference(ck: RefCheckpoint, ids: number[], opts: RefOptions = {}): RefOutput {
  const c = ck.config;
  const w = (n: string) => weight(ck, `gpt_neox.${n}`, n);
  const has = (n: string) => ck.tensors.has(`gpt_neox.${n}`) || ck.tensors.has(n);
  const d = c.hidden_size, nHeads = c.num_attention_heads, dHead = d / nHeads;
  const eps = c.layer_norm_eps ?? 1e-5;
  const rot = Math.trunc(dHead * (c.rotary_pct ?? 0.25));
  const base = c.rotary_emb_base ?? 10000;
  const act = ACTS[c.hidden_act ?? "gelu"];
  const parallel = c.use_parallel_residual ?? true;
  const embed = w("embed_in.weight");
  let x: Rows = ids.map((id) => embed.data.slice(id * d, (id + 1) * d));
  const states: Rows[] = [x];
  const blocks: RefBlock[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `layers.${l}`;
    const residPre = x;
    const replaced = opts.override?.(l, residPre);
    if (replaced) {
      x = replaced;
      blocks.push({ resid_pre: residPre, resid_post: x });
      states.push(x);
      continue;
    }
    const bias = (n: string) => (has(n) ? w(n) : undefined);
    const attn = (h: Rows): Rows => {
      const qkv = linearOutIn(h, w(`${p}.attention.query_key_value.weight`), bias(`${p}.attention.query_key_value.bias`));
      // Per head h, rows [3h*dHead, (3h+1)*dHead) are q, then k, then v.
      const pick = (which: number) => qkv.map((row) => {
        const out = new Float64Array(d);
        for (let hd = 0; hd < nHeads; hd++) {
          for (let i = 0; i < dHead; i++) out[hd * dHead + i] = row[(3 * hd + which) * dHead + i];
        }
        return out;
      });
      const q = partialRotary(pick(0), nHeads, dHead, rot, base);
      const k = partialRotary(pick(1), nHeads, dHead, rot, base);
      const a = attentionRows(q, k, pick(2), nHeads, nHeads, dHead, 1 / Math.sqrt(dHead));
      return linearOutIn(a, w(`${p}.attention.dense.weight`), bias(`${p}.attention.dense.bias`));
    };
    const mlp = (h: Rows): Rows =>
      linearOutIn(mapRows(linearOutIn(h, w(`${p}.mlp.dense_h_to_4h.weight`), w(`${p}.mlp.dense_h_to_4h.bias`)), act),
        w(`${p}.mlp.dense_4h_to_h.weight`), w(`${p}.mlp.dense_4h_to_h.bias`));
    const ln1 = (h: Rows) => layerNormRows(h, w(`${p}.input_layernorm.weight`), w(`${p}.input_layernorm.bias`), eps);
    const ln2 = (h: Rows) => layerNormRows(h, w(`${p}.post_attention_layernorm.weight`), w(`${p}.post_attention_layernorm.bias`), eps);
    const attnOut = attn(ln1(x));
    const residMid = addRows(x, attnOut);
    const mlpOut = mlp(ln2(parallel ? x : residMid));
    x = addRows(residMid, mlpOut);
    blocks.push({ resid_pre: residPre, attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: x });
    states.push(x);
  }
  const final = layerNormRows(x, w("final_layer_norm.weight"), w("final_layer_norm.bias"), eps);
  states[states.length - 1] = final;
  const head = c.tie_word_embeddings ? embed : weight(ck, "embed_out.weight");
  return { states, blocks, residPreFinalNorm: x, lnFinal: final, logits: logitsRows(final, head) };
}
