/** The GPT-2 family record (see lib/models/family.ts). */
import type { ModelFamily } from "../family";
import { gpt2Config } from "./config";
import { GPT2_WEIGHTS, gpt2CanonicalName, gpt2ToHf, gpt2WeightSpec } from "./convert";
import { GPT2_BLOCK } from "./forward";

export const GPT2: ModelFamily = {
  name: "gpt2",
  modelTypes: ["gpt2"],
  normalize: (hf) => gpt2Config(hf),
  layerCountKeys: ["n_layer", "num_hidden_layers"],
  canonicalName: gpt2CanonicalName,
  weightSpec: gpt2WeightSpec,
  blockPrefix: "h.",
  ...GPT2_WEIGHTS,
  // Learned positions: wpe has n_ctx rows.
  maxPositions: (cfg) => cfg.n_ctx,
  toHf: gpt2ToHf,
  // c_attn is split into q, k, v as it is read: blocks run whole (GPT-2 XL's: 117 MiB in float32).
  projectionsOnUse: false,
  decoder: GPT2_BLOCK,
};
