/**
 * Gradient registration for TensorFlow.js.
 *
 * `@tensorflow/tfjs-core`'s CommonJS entry registers kernels' forward passes only; the gradient
 * table lives in `dist/register_all_gradients`, an ES module whose extensionless imports Node
 * cannot load. `@tensorflow/tfjs-layers` (4.22, installed with the tfjs union package that
 * danfojs-node pulls in) bundles the same gradient configs and registers them in tfjs-core's
 * global registry when it is loaded, so loading it once makes `tf.grad`/`tf.variableGrads` work.
 */
import * as tf from "@tensorflow/tfjs-core";

let registered = false;

/** Make sure every op's gradient is registered (idempotent). Throws a one-line error if not possible. */
export function ensureGradients(): void {
  if (registered) return;
  if (tf.getGradient("Sum") === undefined) {
    try {
      require("@tensorflow/tfjs-layers");
    } catch (e) {
      throw new Error(`ensureGradients: could not load @tensorflow/tfjs-layers to register tfjs gradients (${(e as Error).message})`);
    }
    if (tf.getGradient("Sum") === undefined) {
      throw new Error("ensureGradients: tfjs gradients are still not registered after loading @tensorflow/tfjs-layers");
    }
  }
  registered = true;
}
