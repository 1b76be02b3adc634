/**
 * Token ids for the forward passes: the host-side check (once per batch, while the ids are still
 * a plain array) and the cheap per-forward check of shape, dtype and length.
 */
import * as tf from "@tensorflow/tfjs-core";

/** Largest id of every ids tensor built by {@link idsTensor}: its values need no second read. */
const checkedMaxId = new WeakMap<tf.Tensor, number>();

/** Throw unless every id is in 0..dVocab-1; returns the largest id. Reads a host array only. */
function checkValues(fn: string, values: ArrayLike<number>, nPos: number, dVocab: number): number {
  let max = -1;
  for (let i = 0; i < values.length; i++) {
    const id = values[i];
    if (!Number.isInteger(id) || id < 0 || id >= dVocab) {
      throw new Error(`${fn}: 'ids' has ${id} at row ${Math.floor(i / nPos)}, pos ${i % nPos}; expected 0..${dVocab - 1} (d_vocab=${dVocab})`);
    }
    if (id > max) max = id;
  }
  return max;
}

/**
 * Build the int32 ids tensor [batch, pos] of a batch from host values, checking every id against
 * d_vocab here, once; forward passes then skip reading the ids back.
 */
export function idsTensor(dVocab: number, values: ArrayLike<number>, shape: [number, number]): tf.Tensor2D {
  const [batch, nPos] = shape;
  if (values.length !== batch * nPos) {
    throw new Error(`idsTensor: ${values.length} ids do not fill [batch=${batch}, pos=${nPos}]`);
  }
  const max = checkValues("idsTensor", values, nPos, dVocab);
  const ids = tf.tensor2d(values instanceof Int32Array ? values : Int32Array.from(values), shape, "int32");
  checkedMaxId.set(ids, max);
  return ids;
}

/**
 * Throw unless ids is [batch, pos] int32 with pos >= 1, pos <= maxPos (the learned position
 * table's rows, when there is one), and every id in 0..d_vocab-1. Ids built by
 * {@link idsTensor} were checked on the host; any other tensor is read back once here.
 */
export function checkIds(fn: string, dVocab: number, ids: tf.Tensor, maxPos?: number): asserts ids is tf.Tensor2D {
  if (ids.rank !== 2) throw new Error(`${fn}: 'ids' expected shape [batch, pos], got [${ids.shape.join(", ")}]`);
  if (ids.dtype !== "int32") throw new Error(`${fn}: 'ids' must be int32, got ${ids.dtype}`);
  const nPos = ids.shape[1] ?? 0;
  if (nPos === 0) throw new Error(`${fn}: 'ids' has no positions`);
  if (maxPos !== undefined && nPos > maxPos) {
    throw new Error(`${fn}: 'ids' has pos=${nPos} but the model has n_ctx=${maxPos} learned positions`);
  }
  const max = checkedMaxId.get(ids);
  if (max !== undefined) {
    if (max >= dVocab) throw new Error(`${fn}: 'ids' has ${max}; expected 0..${dVocab - 1} (d_vocab=${dVocab})`);
    return;
  }
  checkValues(fn, ids.dataSync(), nPos, dVocab);
}
