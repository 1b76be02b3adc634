/**
 * The readout of a loaded model (final norm, unembedding) for the logit lens. Every Model carries
 * its own (lib/models/readout.ts: resident or streamed in vocabulary chunks); this returns it.
 */
import type { Model } from "../models/types";
import type { Readout } from "../models/readout";

export type { Readout } from "../models/readout";

/** The readout of a loaded model (its weights stay owned by the model). */
export function readoutOf(model: Model): Readout {
  return model.readout;
}
