export { batchStates } from "./batch";
export { ForwardPool, defaultExtractWorkers } from "./forward-pool";
export { extract, type ExtractOptions, type ExtractResult, type ExtractDtype, type ExtractProgress } from "./extract";
export { cutSequences, BOS_TAG, type Sequence, type CutOptions } from "./sequences";
export { loadTextSource, BROWN_SPECS, type TextDocument } from "./source";
export { modelFingerprint } from "./fingerprint";
export { EXTRACT_POINTS, parsePoints, pointStates, type ExtractPoint, type PointStates } from "./points";
