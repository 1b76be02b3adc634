export { extract, batchStates, type ExtractOptions, type ExtractResult, type ExtractDtype, type ExtractProgress } from "./extract";
export { cutSequences, BOS_TAG, type Sequence, type CutOptions } from "./sequences";
export { loadTextSource, BROWN_SPECS, type TextDocument } from "./source";
