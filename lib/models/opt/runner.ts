/** The OPT family for the registry. */
import type { FamilyRunner } from "../family";
import type { ModelWeights } from "../roles";
import { optCanonicalName, optFromHf, optToHf, optWeightSpec } from "./convert";
import { optForward } from "./forward";

export const OPT: FamilyRunner<ModelWeights> = {
  canonicalName: optCanonicalName,
  weightSpec: optWeightSpec,
  fromHf: optFromHf,
  toHf: optToHf,
  forward: optForward,
};
