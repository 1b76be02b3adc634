/** File formats: .npy, safetensors, float16/bfloat16 conversion, atomic writes, file-system errors. */
export * from "./atomic";
export * from "./atomic-folder";
export * from "./errors";
export * from "./f16";
export * from "./json";
export * from "./lock";
export * from "./npy";
export * from "./output-guard";
export * from "./process";
export * from "./safetensors";
