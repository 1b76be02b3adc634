/** The Llama family for the registry. */
import type { FamilyRunner } from "../family";
import type { ModelWeights } from "../roles";
import { llamaFromHf, llamaToHf, llamaWeightSpec } from "./convert";
import { llamaForward } from "./forward";

export const LLAMA: FamilyRunner<ModelWeights> = {
  canonicalName: (name) => name,
  weightSpec: llamaWeightSpec,
  fromHf: llamaFromHf,
  toHf: llamaToHf,
  forward: llamaForward,
};
