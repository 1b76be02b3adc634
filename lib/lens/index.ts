/** The logit lens: each hidden state read out through the final norm and unembedding. */
export { loadLensModel, withReadout, lensBatch, lensSequences, summarizeLens, logitLens } from "./lens";
export type { LensModel, SequenceLens, LensSummary, LogitLensOptions } from "./lens";
export { readoutOf } from "./readout";
export type { Readout } from "./readout";
