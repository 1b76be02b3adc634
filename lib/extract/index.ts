export { batchStates } from "./batch";
export { ForwardPool, defaultExtractWorkers } from "./forward-pool";
export { extract, type ExtractOptions, type ExtractResult, type ExtractDtype } from "./extract";
export { cutSequences, BOS_TAG, type Sequence, type CutOptions } from "./sequences";
export { loadTextSource, BROWN_SPECS, type TextDocument } from "./source";
export { extractBar, downloadBar, type ExtractProgress } from "./progress";
export { EXTRACT_POINTS, parsePoints, pointStates, type ExtractPoint, type PointStates } from "./points";
