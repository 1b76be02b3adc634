/** The Llama family record (also Qwen2 and Mistral: same names, same block; see lib/models/family.ts). */
import type { ModelFamily } from "../family";
import { llamaConfig } from "./config";
import { LLAMA_WEIGHTS, llamaToHf, llamaWeightSpec } from "./convert";
import { LLAMA_BLOCK } from "./forward";

export const LLAMA: ModelFamily = {
  name: "llama",
  modelTypes: ["llama", "qwen2", "mistral"],
  normalize: (hf, type) => llamaConfig(hf, type as "llama" | "qwen2" | "mistral"),
  layerCountKeys: ["num_hidden_layers"],
  canonicalName: (name) => name,
  weightSpec: llamaWeightSpec,
  blockPrefix: "model.layers.",
  ...LLAMA_WEIGHTS,
  // Rotary positions: runs past max_position_embeddings, as HF does.
  maxPositions: () => undefined,
  toHf: llamaToHf,
  projectionsOnUse: true,
  decoder: LLAMA_BLOCK,
};
