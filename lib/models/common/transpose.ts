/**
 * A 2-D transpose on the host, for loading weights.
 *
 * Why: checkpoints store nn.Linear weights [out, in] and this project uses [in, out], so loading a
 * model transposes every dense weight once. tfjs-backend-wasm's Transpose moved about 70M floats/s
 * here (about 1.2 s of a 768-wide, 12-block Llama's 2.5 s load, paid again by every extraction
 * worker); this cache-blocked loop moves about 350M/s. Values are copied, never computed, so the
 * result equals tf.transpose exactly.
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeBlas } from "../../native/blas";
import { heapView, type WasmBackend } from "../../native/wasm-heap";

/** Rows and columns per tile: 64 x 64 float32 (16 KiB) stays in L1 cache for reads and writes. */
const TILE = 64;

/**
 * src [rows, cols] row-major -> dst [cols, rows] row-major (dst is written, never read): in C
 * where the native addon provides it (lib/native: a 1.1B model's weights took 5.3 s in this
 * loop), else in tiles here.
 */
function transposeInto(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  const native = nativeBlas()?.memory.transpose32;
  if (native !== undefined) return native(src, rows, cols, dst);
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let j = j0; j < j1; j++) {
        for (let i = i0, o = j * rows + i0, s = i0 * cols + j; i < i1; i++, o++, s += cols) dst[o] = src[s];
      }
    }
  }
}

/** src [rows, cols] row-major -> [cols, rows] row-major. */
export function transposeArray(src: Float32Array, rows: number, cols: number): Float32Array {
  if (src.length !== rows * cols) throw new Error(`transposeArray: ${src.length} values do not fill [${rows}, ${cols}]`);
  const out = new Float32Array(rows * cols);
  transposeInto(src, out, rows, cols);
  return out;
}

/**
 * x [rows, cols] -> a new tensor [cols, rows], transposed on the host. Not differentiable (the
 * result is a new leaf): for loading and saving weights, not inside a gradient. On the wasm
 * backend straight from x's memory into the new tensor's (a 7B model's 6.5G weight values would
 * otherwise be copied out of the heap and back in once more each).
 */
export function transposeWeight(x: tf.Tensor2D): tf.Tensor2D {
  if (x.rank !== 2 || x.dtype !== "float32") throw new Error(`transposeWeight: expected a float32 matrix, got ${x.dtype} [${x.shape}]`);
  const [rows, cols] = x.shape;
  if (tf.getBackend() === "wasm") {
    const backend = tf.backend() as unknown as WasmBackend;
    // Allocate first: the heap may grow, and views are taken after.
    const out = backend.makeOutput([cols, rows], "float32");
    transposeInto(heapView(backend, x), heapView(backend, out), rows, cols);
    return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
  }
  return tf.tensor2d(transposeArray(x.dataSync() as Float32Array, rows, cols), [cols, rows]);
}
