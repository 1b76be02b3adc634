/** File formats: .npy, safetensors, float16/bfloat16 conversion, atomic writes, file-system errors. */
export * from "./atomic";
export * from "./errors";
export * from "./f16";
export * from "./npy";
export * from "./safetensors";
