export type { Encoded, TextTokenizer, TokenizerModelConfig } from "./types";
export { ByteTokenizer } from "./byte";
export { HfTokenizer } from "./hf";
export { loadTokenizer } from "./load";
export { alignDecoded, decodePieces, piecesToOffsets } from "./offsets";
export { tokenPieces } from "./pieces";
