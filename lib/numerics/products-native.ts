/**
 * The native route of {@link ProductRoute}: exact float64 block products by OpenBLAS (lib/native,
 * both cores). dsyrk sums a self-product's upper triangle only (half the work); products.ts's
 * `fullProduct` mirrors it on read.
 */
import type { NativeBlas } from "../native/blas";
import type { ProductRoute } from "./products";

/** dgemm / dsyrk on shifted float64 blocks. */
export function nativeProducts(blas: NativeBlas): ProductRoute<Float64Array> {
  return {
    kind: "native",
    upperOnly: true,
    add(A, da, B, db, rows, acc, same) {
      if (same) blas.syrkUpper(da, rows, A, da, acc, da);
      else blas.gemm(true, false, da, db, rows, 1, A, da, B, db, 1, acc, db);
    },
  };
}
