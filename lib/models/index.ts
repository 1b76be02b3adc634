/** Public API of the model runners (re-exports only). */
export { normalizeHfConfig, SUPPORTED_MODEL_TYPES, type Activation, type DecoderConfig, type Family } from "./config";
export {
  BLOCK_POINTS, HOOK_POINTS,
  type BlockOverride, type BlockPoint, type ForwardOptions, type ForwardOutput, type HookPoint, type Model, type StateDict,
} from "./types";
export { disposeWeights, mapWeights, weightList, type BlockWeights, type Dense, type ModelWeights, type Norm } from "./roles";
export { loadModel } from "./load";
export { saveCheckpoint, type SaveDtype } from "./save";
export { checkWeights, type WeightSpec } from "./weights";
export { assembleWeights, checkCheckpoint, parseBlockName, weightsFromHf, type CheckpointFormat, type HeadWeights, type ModelFamily, type WeightParts } from "./family";
export { FAMILIES } from "./registry";
export { openCheckpoint, type OpenedCheckpoint } from "./load";
export { finalNormOf, residentReadout, type Readout } from "./readout";
export { runDecoder, type BlockStates, type FamilyBlock } from "./common/forward";
export { checkIds, idsTensor } from "./common/ids";
export { ensureGradients } from "./common/gradients";
export { batchedMatmul, matmul, linear, transposeLast2 } from "./common/matmul";
export { layerNorm, layerNormOf, rmsNorm } from "./common/norm";
export { activate, geluErf, geluTanh, relu, silu } from "./common/activations";
export { applyRotary, rotaryTables, rotateHalf } from "./common/rotary";
export { causalAttention, mergeHeads, rotaryCausalAttention, splitHeads } from "./common/attention";
export { embed } from "./common/embedding";
export { llamaBlock, llamaForward } from "./llama/forward";
export { llamaBlockFromHf, llamaFromHf, llamaHeadFromHf, llamaToHf, llamaWeightSpec } from "./llama/convert";
export { LLAMA } from "./llama/family";
export { gpt2Block, gpt2Forward } from "./gpt2/forward";
export { gpt2CanonicalName, gpt2FromHf, gpt2ToHf, gpt2WeightSpec } from "./gpt2/convert";
export { GPT2 } from "./gpt2/family";
export { optBlock, optForward } from "./opt/forward";
export { optCanonicalName, optFromHf, optToHf, optWeightSpec } from "./opt/convert";
export { OPT } from "./opt/family";
export { neoxBlock, neoxForward } from "./gpt_neox/forward";
export { neoxFromHf, neoxToHf, neoxWeightSpec } from "./gpt_neox/convert";
export { GPT_NEOX } from "./gpt_neox/family";
export { checkVocabulary, openLocalModel, openModel, sequenceLength, type OpenedModel, type OpenModelOptions } from "./open";
export { streamedModel } from "./stream/streamed";
export { planModel, VOCAB_CHUNK_BYTES, WASM_HEAP_USABLE, type MemoryPlan, type RunMode } from "./stream/plan";
export { availableMemory, defaultMemoryBudget, formatBytes, parseMemorySize, peakResidentBytes } from "./stream/memory";
export { wholeModel } from "./whole";
