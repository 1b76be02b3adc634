/** The GPT-NeoX (Pythia) family record (see lib/models/family.ts). */
import type { ModelFamily } from "../family";
import { neoxConfig } from "./config";
import { NEOX_WEIGHTS, neoxToHf, neoxWeightSpec } from "./convert";
import { NEOX_BLOCK } from "./forward";

export const GPT_NEOX: ModelFamily = {
  name: "gpt_neox",
  modelTypes: ["gpt_neox"],
  normalize: (hf) => neoxConfig(hf),
  layerCountKeys: ["num_hidden_layers"],
  canonicalName: (name) => name,
  weightSpec: neoxWeightSpec,
  blockPrefix: "gpt_neox.layers.",
  ...NEOX_WEIGHTS,
  // Rotary positions: runs past max_position_embeddings, as HF does.
  maxPositions: () => undefined,
  toHf: neoxToHf,
  // query_key_value is split into q, k, v as it is read: blocks run whole (Pythia-12B's: 1.2 GiB in float32).
  projectionsOnUse: false,
  decoder: NEOX_BLOCK,
};
