/**
 * Block products C += A^T B, summed in float64: the O(tokens * d_model^2) work of every moment
 * accumulator (gram-accumulator.ts, moment-accumulator.ts). One route per file, one interface:
 *
 * - products-native.ts: dgemm / dsyrk on the native OpenBLAS (lib/native), exact float64 products
 *   of the shifted values, both cores. The default wherever the addon loads.
 * - products-float64.ts: the same exact float64 products in plain JavaScript (4x4 register tiles).
 * - products-float32.ts: tfjs float32 matmuls of column-scaled blocks, each block's product added
 *   into float64. Fast without the native BLAS; accurate for well-conditioned states only.
 *
 * A block is [rows, d] row-major; A^T B is [d_a, d_b] row-major.
 */
import { nativeBlas } from "../native/blas";
import { nativeProducts } from "./products-native";
import { jsFloat64Products } from "./products-float64";

/** Which route formed a product sum. */
export type ProductRouteKind = "native" | "float64" | "float32";

/** One way of forming block products; `T` is the block's element type. */
export interface ProductRoute<T extends Float32Array | Float64Array = Float64Array> {
  readonly kind: ProductRouteKind;
  /**
   * True when a product of a block with itself (`same`) sums its upper triangle only (dsyrk):
   * read such sums through {@link fullProduct}.
   */
  readonly upperOnly: boolean;
  /** acc [d_a, d_b] += A^T B over one block: A [rows, d_a], B [rows, d_b]; `same`: B is A (d_a = d_b). */
  add(A: T, da: number, B: T, db: number, rows: number, acc: Float64Array, same: boolean): void;
}

/**
 * The exact float64 route: the native BLAS when `native` allows it (default) and the addon loads
 * (not with LINEARITY_NATIVE=0), else plain JavaScript.
 */
export function float64Route(native = true): ProductRoute<Float64Array> {
  const blas = native ? nativeBlas() : undefined;
  return blas ? nativeProducts(blas) : jsFloat64Products;
}

/**
 * A fresh full copy of a product sum [d_i, d_j]; a self-product (`same`) summed as its upper
 * triangle only (`upperOnly`) gets its lower triangle mirrored.
 */
export function fullProduct(sum: Float64Array, di: number, same: boolean, upperOnly: boolean): Float64Array {
  const out = sum.slice(); // a memcpy (Float64Array.from walked it element by element)
  if (same && upperOnly) mirrorUpper(out, di);
  return out;
}

/** Side of the tiles {@link mirrorUpper} works in: a 64 x 64 float64 tile (32 KB) stays in L1. */
const MIRROR_TILE = 64;

/**
 * a [n, n] row-major: the lower triangle := the upper one's transpose. Tile by tile: row by row
 * over the whole matrix, each lower write went to a new cache line (8.4 million misses at
 * d_model 4,096, 1-2 s of a score measured under load).
 */
export function mirrorUpper(a: Float64Array, n: number): void {
  for (let p0 = 0; p0 < n; p0 += MIRROR_TILE) {
    const p1 = Math.min(n, p0 + MIRROR_TILE);
    for (let q0 = p0; q0 < n; q0 += MIRROR_TILE) {
      const q1 = Math.min(n, q0 + MIRROR_TILE);
      for (let q = q0; q < q1; q++) {
        const row = q * n, end = Math.min(p1, q);
        for (let p = p0; p < end; p++) a[row + p] = a[p * n + q];
      }
    }
  }
}

/**
 * Centre a shifted product sum in place: out [d_i, d_j] -= a b^T / n, with a and b the column sums
 * of the shifted states i and j over n rows. The shift cancels: (X_i - s_i)^T (X_j - s_j) becomes
 * (X_i - mean_i)^T (X_j - mean_j).
 */
export function centreProduct(out: Float64Array, a: Float64Array, b: Float64Array, n: number): void {
  const di = a.length, dj = b.length;
  for (let p = 0; p < di; p++) {
    const ap = a[p] / n;
    for (let q = 0; q < dj; q++) out[p * dj + q] -= ap * b[q];
  }
}
