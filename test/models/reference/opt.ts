/**
 * Float64 reference OPT forward for one sequence, from the maths and HF weight names.
 * Positions read row pos + 2 of embed_positions. For project_out models the last state is
 * reported before project_out (the project's convention; HF reports it after).
 */
import {
  addRows, attentionRows, layerNormRows, linearOutIn, logitsRows, mapRows, relu, weight,
  type RefBlock, type RefCheckpoint, type RefOptions, type RefOutput, type Rows,
} from "./common";

export function optReference(ck: RefCheckpoint, ids: number[], opts: RefOptions = {}): RefOutput {
  const c = ck.config;
  const w = (n: string) => weight(ck, `model.decoder.${n}`, `decoder.${n}`);
  const has = (n: string) => ck.tensors.has(`model.decoder.${n}`) || ck.tensors.has(`decoder.${n}`);
  const d = c.hidden_size, nHeads = c.num_attention_heads, dHead = d / nHeads, eps = 1e-5;
  const embed = w("embed_tokens.weight"), pos = w("embed_positions.weight");
  const e = embed.shape[1];
  let tokens: Rows = ids.map((id) => embed.data.slice(id * e, (id + 1) * e));
  if (has("project_in.weight")) tokens = linearOutIn(tokens, w("project_in.weight"));
  let x: Rows = tokens.map((row, t) => row.map((v, i) => v + pos.data[(t + 2) * d + i]));
  const states: Rows[] = [x];
  const blocks: RefBlock[] = [];
  const preLN = c.do_layer_norm_before !== false;
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `layers.${l}`;
    const attn = (h: Rows) => {
      const q = linearOutIn(h, w(`${p}.self_attn.q_proj.weight`), w(`${p}.self_attn.q_proj.bias`));
      const k = linearOutIn(h, w(`${p}.self_attn.k_proj.weight`), w(`${p}.self_attn.k_proj.bias`));
      const v = linearOutIn(h, w(`${p}.self_attn.v_proj.weight`), w(`${p}.self_attn.v_proj.bias`));
      const a = attentionRows(q, k, v, nHeads, nHeads, dHead, 1 / Math.sqrt(dHead));
      return linearOutIn(a, w(`${p}.self_attn.out_proj.weight`), w(`${p}.self_attn.out_proj.bias`));
    };
    const mlp = (h: Rows) =>
      linearOutIn(mapRows(linearOutIn(h, w(`${p}.fc1.weight`), w(`${p}.fc1.bias`)), relu), w(`${p}.fc2.weight`), w(`${p}.fc2.bias`));
    const ln1 = (h: Rows) => layerNormRows(h, w(`${p}.self_attn_layer_norm.weight`), w(`${p}.self_attn_layer_norm.bias`), eps);
    const ln2 = (h: Rows) => layerNormRows(h, w(`${p}.final_layer_norm.weight`), w(`${p}.final_layer_norm.bias`), eps);
    const residPre = x;
    const replaced = opts.override?.(l, residPre);
    if (replaced) {
      x = replaced;
      blocks.push({ resid_pre: residPre, resid_post: x });
    } else if (preLN) {
      const attnOut = attn(ln1(x));
      const residMid = addRows(x, attnOut);
      const mlpOut = mlp(ln2(residMid));
      x = addRows(residMid, mlpOut);
      blocks.push({ resid_pre: residPre, attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: x });
    } else {
      const attnOut = attn(x);
      const residMid = ln1(addRows(x, attnOut));
      const mlpOut = mlp(residMid);
      x = ln2(addRows(residMid, mlpOut));
      blocks.push({ resid_pre: residPre, attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: x });
    }
    states.push(x);
  }
  const final = has("final_layer_norm.weight") ? layerNormRows(x, w("final_layer_norm.weight"), w("final_layer_norm.bias"), eps) : x;
  states[states.length - 1] = final;
  const out = has("project_out.weight") ? linearOutIn(final, w("project_out.weight")) : final;
  return { states, blocks, residPreFinalNorm: x, lnFinal: final, logits: logitsRows(out, embed) };
}
