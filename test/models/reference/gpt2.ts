/** Float64 reference GPT-2 forward for one sequence, from the maths and HF weight names. */
import {
  addRows, attentionRows, geluTanh, layerNormRows, linearInOut, logitsRows, mapRows, weight,
  type RefBlock, type RefCheckpoint, type RefOptions, type RefOutput, type Rows,
} from "./common";

export function gpt2Reference(ck: RefCheckpoint, ids: number[], opts: RefOptions = {}): RefOutput {
  const c = ck.config;
  const w = (n: string) => weight(ck, n, `transformer.${n}`);
  const wte = w("wte.weight"), wpe = w("wpe.weight");
  const d = c.n_embd, nHeads = c.n_head, dHead = d / nHeads, eps = c.layer_norm_epsilon;
  let x: Rows = ids.map((id, pos) => {
    const row = new Float64Array(d);
    for (let i = 0; i < d; i++) row[i] = wte.data[id * d + i] + wpe.data[pos * d + i];
    return row;
  });
  const states: Rows[] = [x];
  const blocks: RefBlock[] = [];
  for (let l = 0; l < c.n_layer; l++) {
    const p = `h.${l}`;
    const residPre = x;
    const replaced = opts.override?.(l, residPre);
    if (replaced) {
      x = replaced;
      blocks.push({ resid_pre: residPre, resid_post: x });
      states.push(x);
      continue;
    }
    const h = layerNormRows(x, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), eps);
    const qkv = linearInOut(h, w(`${p}.attn.c_attn.weight`), w(`${p}.attn.c_attn.bias`)); // [pos][3d]
    const q = qkv.map((r) => r.slice(0, d)), k = qkv.map((r) => r.slice(d, 2 * d)), v = qkv.map((r) => r.slice(2 * d));
    const a = attentionRows(q, k, v, nHeads, nHeads, dHead, 1 / Math.sqrt(dHead));
    const attnOut = linearInOut(a, w(`${p}.attn.c_proj.weight`), w(`${p}.attn.c_proj.bias`));
    x = addRows(x, attnOut);
    const residMid = x;
    const m = layerNormRows(x, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), eps);
    const hidden = mapRows(linearInOut(m, w(`${p}.mlp.c_fc.weight`), w(`${p}.mlp.c_fc.bias`)), geluTanh);
    const mlpOut = linearInOut(hidden, w(`${p}.mlp.c_proj.weight`), w(`${p}.mlp.c_proj.bias`));
    x = addRows(x, mlpOut);
    blocks.push({ resid_pre: residPre, attn_out: attnOut, resid_mid: residMid, mlp_out: mlpOut, resid_post: x });
    states.push(x);
  }
  const final = layerNormRows(x, w("ln_f.weight"), w("ln_f.bias"), eps);
  states[states.length - 1] = final;
  return { states, blocks, residPreFinalNorm: x, lnFinal: final, logits: logitsRows(final, wte) };
}
