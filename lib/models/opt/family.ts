/** The OPT family record (see lib/models/family.ts). */
import type { ModelFamily } from "../family";
import { optConfig } from "./config";
import { OPT_WEIGHTS, optCanonicalName, optToHf, optWeightSpec } from "./convert";
import { OPT_BLOCK } from "./forward";

export const OPT: ModelFamily = {
  name: "opt",
  modelTypes: ["opt"],
  normalize: (hf) => optConfig(hf),
  layerCountKeys: ["num_hidden_layers"],
  canonicalName: optCanonicalName,
  weightSpec: optWeightSpec,
  blockPrefix: "model.decoder.layers.",
  ...OPT_WEIGHTS,
  // Learned positions: embed_positions has n_ctx rows after its 2 offset rows.
  maxPositions: (cfg) => cfg.n_ctx,
  toHf: optToHf,
  projectionsOnUse: true,
  decoder: OPT_BLOCK,
};
