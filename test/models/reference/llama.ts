/** Float64 reference Llama forward for one sequence, from the maths and HF weight names. */
import {
  addRows, attentionRows, linearOutIn, logitsRows, mapRows, rmsNormRows, silu, weight,
  type RefBlock, type RefCheckpoint, type RefOptions, type RefOutput, type Rows,
} from "./common";

/** Rotate each head's pairs (i, i + d_head/2) by angle pos * theta^(-2i/d_head). */
function rotary(x: Rows, nHeads: number, dHead: number, theta: number): Rows {
  const half = dHead / 2;
  return x.map((row, pos) => {
    const out = new Float64Array(row.length);
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < half; i++) {
        const angle = pos * Math.pow(theta, (-2 * i) / dHead);
        const a = row[h * dHead + i], b = row[h * dHead + half + i];
        out[h * dHead + i] = a * Math.cos(angle) - b * Math.sin(angle);
        out[h * dHead + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
    return out;
  });
}

export function llamaReference(ck: RefCheckpoint, ids: number[], opts: RefOptions = {}): RefOutput {
  const c = ck.config;
  const nHeads = c.num_attention_heads, nKv = c.num_key_value_heads ?? nHeads;
  const dHead = c.head_dim ?? c.hidden_size / nHeads;
  const eps = c.rms_norm_eps, theta = c.rope_theta ?? 10000;
  const embed = weight(ck, "model.embed_tokens.weight");
  const d = embed.shape[1];
  let x: Rows = ids.map((id) => embed.data.slice(id * d, (id + 1) * d));
  const states: Rows[] = [x];
  const blocks: RefBlock[] = [];
  const opt = (name: string) => ck.tensors.get(name);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const residPre = x;
    const replaced = opts.override?.(l, residPre);
    if (replaced) {
      x = replaced;
      blocks.push({ resid_pre: residPre, resid_post: x });
      states.push(x);
      continue;
    }
    const h = rmsNormRows(x, weight(ck, `${p}.input_layernorm.weight`), eps);
    const q = rotary(linearOutIn(h, weight(ck, `${p}.self_attn.q_proj.weight`), opt(`${p}.self_attn.q_proj.bias`)), nHeads, dHead, theta);
    const k = rotary(linearOutIn(h, weight(ck, `${p}.self_attn.k_proj.weight`), opt(`${p}.self_attn.k_proj.bias`)), nKv, dHead, theta);
    const v = linearOutIn(h, weight(ck, `${p}.self_attn.v_proj.weight`), opt(`${p}.self_attn.v_proj.bias`));
    const a = attentionRows(q, k, v, nHeads, nKv, dHead, 1 / Math.sqrt(dHead));
    const attnOut = linearOutIn(a, weight(ck, `${p}.self_attn.o_proj.weight`), opt(`${p}.self_attn.o_proj.bias`));
    x = addRows(x, attnOut);
    const residMid = x;
    const m = rmsNormRows(x, weight(ck, `${p}.post_attention_layernorm.weight`), eps);
    const gate = mapRows(linearOutIn(m, weight(ck, `${p}.mlp.gate_proj.weight`), opt(`${p}.mlp.gate_proj.bias`)), silu);
    const up = linearOutIn(m, weight(ck, `${p}.mlp.up_proj.weight`), opt(`${p}.mlp.up_proj.bias`));
    const prod = gate.map((row, t) => row.map((g, i) => g * up[t][i]));
    const mlpOut = linearOutIn(prod, weight(ck, `${p}.mlp.down_proj.weight`), opt(`${p}.mlp.down_proj.bias`));
    x = addRows(x, mlpOut);
    blocks.push({ resid_pre: residPre, attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: x });
    states.push(x);
  }
  const final = rmsNormRows(x, weight(ck, "model.norm.weight"), eps);
  states[states.length - 1] = final;
  const head = c.tie_word_embeddings ? embed : weight(ck, "lm_head.weight");
  return { states, blocks, residPreFinalNorm: x, lnFinal: final, logits: logitsRows(final, head) };
}
