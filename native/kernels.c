/*
 * Fused inference kernels on the wasm heap (lib/native/wasm-fused.ts).
 */
#include "addon.h"

int register_kernels(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return 1;
}
