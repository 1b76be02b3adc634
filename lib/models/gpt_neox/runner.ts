/** The GPT-NeoX family (Pythia) for the registry. */
import type { FamilyRunner } from "../family";
import type { ModelWeights } from "../roles";
import { neoxFromHf, neoxToHf, neoxWeightSpec } from "./convert";
import { neoxForward } from "./forward";

export const GPT_NEOX: FamilyRunner<ModelWeights> = {
  canonicalName: (name) => name,
  weightSpec: neoxWeightSpec,
  fromHf: neoxFromHf,
  toHf: neoxToHf,
  forward: neoxForward,
};
