/** Optional native code: the system's BLAS through native/blas.c. */
export { nativeBlas, nativeBlasStatus } from "./blas";
export type { NativeBlas, NativeLapack } from "./blas";
