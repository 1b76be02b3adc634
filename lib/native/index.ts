/** Optional native code: the system's BLAS through native/blas.c. */
export { nativeBlas, nativeBlasStatus, nativeFiles, nativeMemory } from "./blas";
export type { BlasKernel, NativeBlas, NativeLapack } from "./blas";
export { cpuFlagsFromCpuinfo, decideOpenblasKernel, isGenericOpenblasCore, openblasCoreFromFlags } from "./openblas-core";
export type { KernelDecision, OpenblasCore } from "./openblas-core";
