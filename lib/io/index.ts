/** File formats: .npy, safetensors, float16/bfloat16 conversion, atomic writes. */
export * from "./atomic";
export * from "./f16";
export * from "./npy";
export * from "./safetensors";
