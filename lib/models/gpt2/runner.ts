/** The GPT-2 family for the registry. */
import type { FamilyRunner } from "../family";
import type { ModelWeights } from "../roles";
import { gpt2CanonicalName, gpt2FromHf, gpt2ToHf, gpt2WeightSpec } from "./convert";
import { gpt2Forward } from "./forward";

export const GPT2: FamilyRunner<ModelWeights> = {
  canonicalName: gpt2CanonicalName,
  weightSpec: gpt2WeightSpec,
  fromHf: gpt2FromHf,
  toHf: gpt2ToHf,
  forward: gpt2Forward,
};
