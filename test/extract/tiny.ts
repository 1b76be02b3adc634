/**
 * Tiny random checkpoints for extraction tests: a config.json per family, weights drawn for every
 * tensor the family's weight spec requires (norm scales near 1, the rest small), saved with
 * saveCheckpoint as a real safetensors folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { normalizeHfConfig } from "../../lib/models/config";
import { FAMILIES } from "../../lib/models/registry";
import { saveCheckpoint } from "../../lib/models/save";

export function tinyHfConfig(family: "gpt2" | "opt" | "llama", d: { n_layers: number; d_model: number; n_heads: number; d_vocab: number; n_ctx: number; bos?: number }): Record<string, unknown> {
  switch (family) {
    case "gpt2":
      return {
        model_type: "gpt2", n_layer: d.n_layers, n_embd: d.d_model, n_head: d.n_heads, n_positions: d.n_ctx,
        vocab_size: d.d_vocab, bos_token_id: d.bos, eos_token_id: d.bos, activation_function: "gelu_new", layer_norm_epsilon: 1e-5,
      };
    case "opt":
      return {
        model_type: "opt", num_hidden_layers: d.n_layers, hidden_size: d.d_model, num_attention_heads: d.n_heads,
        ffn_dim: 4 * d.d_model, max_position_embeddings: d.n_ctx, vocab_size: d.d_vocab, word_embed_proj_dim: d.d_model,
        do_layer_norm_before: true, activation_function: "relu", bos_token_id: d.bos, eos_token_id: d.bos, pad_token_id: 1,
      };
    case "llama":
      return {
        model_type: "llama", num_hidden_layers: d.n_layers, hidden_size: d.d_model, num_attention_heads: d.n_heads,
        num_key_value_heads: Math.max(1, d.n_heads / 2), intermediate_size: 3 * d.d_model, max_position_embeddings: d.n_ctx,
        vocab_size: d.d_vocab, rms_norm_eps: 1e-5, bos_token_id: d.bos, tie_word_embeddings: false, rope_theta: 10000,
      };
  }
}

/** Write a random checkpoint of `hfConfig` into `dir`; `files` adds e.g. a tokenizer.json. */
export function writeTinyCheckpoint(dir: string, hfConfig: Record<string, unknown>, seed = 1, files: Record<string, string> = {}): string {
  const cfg = normalizeHfConfig(hfConfig);
  const spec = FAMILIES[cfg.family].weightSpec(cfg);
  const tensors: Record<string, tf.Tensor> = {};
  let k = 0;
  for (const [name, shape] of spec.required) {
    const isNormScale = /(norm|ln_|layer_norm|ln_f).*weight$/.test(name) && shape.length === 1;
    tensors[name] = isNormScale
      ? tf.add(1, tf.randomNormal([...shape], 0, 0.1, "float32", seed + k++))
      : tf.randomNormal([...shape], 0, 0.2, "float32", seed + k++);
  }
  saveCheckpoint(dir, hfConfig, tensors, "F32");
  tf.dispose(Object.values(tensors));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}
