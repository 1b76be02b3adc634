/**
 * A model that streams its weights: each forward runs the blocks one at a time over all the
 * sequences it is given, reading a block's tensors from the (sharded) safetensors just before it
 * runs (stored F32/F16/BF16, converted to float32 then) and freeing them as soon as it has run.
 * Resident between forwards: only the head (positions, projections, final norm) and a pruned
 * folder's affine blocks. The token embedding is gathered row by row (only the ids a forward
 * uses), and logits are computed over vocabulary chunks of VOCAB_CHUNK_BYTES.
 *
 * Same arithmetic as the whole model: the same block code on the same float32 weights, so hidden
 * states agree bit for bit; logits are products over column chunks of the output projection,
 * equal to the whole product up to the kernel's summation order.
 */
import * as tf from "@tensorflow/tfjs-core";
import { runDecoderOn, type DecoderWeights } from "../common/forward";
import { linear } from "../common/matmul";
import { nativeMatmulInstalled } from "../../native/wasm-matmul";
import { transposeWeight } from "../common/transpose";
import type { OpenedCheckpoint } from "../load";
import { readBlock, readBlockOnUse, readHead, readRowValues, readRows } from "../read";
import { finalNormOf } from "../readout";
import type { HeadWeights } from "../family";
import type { Model } from "../types";
import { readAffineBlocks, wholeModel, withAffineBlocks } from "../whole";
import { VOCAB_CHUNK_BYTES } from "./plan";

/** Token embeddings [batch, pos, d_embed] of ids, reading only the rows they use (runs of consecutive ids in one read). */
function gatherEmbedding(ck: OpenedCheckpoint, ids: tf.Tensor2D): tf.Tensor3D {
  const [batch, nPos] = ids.shape;
  const values = ids.dataSync() as Int32Array;
  const unique = [...new Set(values)].sort((a, b) => a - b);
  const local = new Map<number, number>();
  unique.forEach((id, i) => local.set(id, i));
  const dEmbed = ck.config.d_embed;
  const rows = new Float32Array(unique.length * dEmbed);
  for (let i = 0; i < unique.length; ) {
    let j = i + 1;
    while (j < unique.length && unique[j] === unique[j - 1] + 1) j++;
    // Values straight from the file: a tensor per run cost a heap round trip each (0.13 s for 512 tokens of TinyLlama).
    rows.set(readRowValues(ck, ck.family.embedName, unique[i], unique[j - 1] + 1), i * dEmbed);
    i = j;
  }
  // Each token's row copied here: tfjs-backend-wasm's gather goes value by value (80 ms for 512 x 2,048).
  const out = new Float32Array(values.length * dEmbed);
  values.forEach((v, t) => {
    const at = local.get(v)! * dEmbed;
    out.set(rows.subarray(at, at + dEmbed), t * dEmbed);
  });
  return tf.tensor3d(out, [batch, nPos, dEmbed]);
}

/** Logits [batch, pos, d_vocab] of final states, the output projection read in vocabulary chunks. */
function chunkedLogits(ck: OpenedCheckpoint, head: HeadWeights, final: tf.Tensor3D): tf.Tensor3D {
  const { d_vocab, d_embed, tie_word_embeddings } = ck.config;
  const table = tie_word_embeddings ? ck.family.embedName : ck.family.unembedName; // [d_vocab, d_embed]
  const rowsPerChunk = Math.max(1, Math.floor(VOCAB_CHUNK_BYTES / (4 * d_embed)));
  return tf.tidy(() => {
    const out = head.unembed_proj !== undefined ? linear(final, head.unembed_proj.w, head.unembed_proj.b) : final;
    const parts: tf.Tensor3D[] = [];
    for (let v0 = 0; v0 < d_vocab; v0 += rowsPerChunk) {
      const rows = readRows(ck, table, v0, Math.min(d_vocab, v0 + rowsPerChunk)); // [chunk, d_embed]
      const w = transposeWeight(rows); // [d_embed, chunk]
      rows.dispose();
      parts.push(linear(out, w));
      w.dispose();
    }
    return parts.length === 1 ? parts[0] : tf.concat(parts, 2);
  });
}

/**
 * The streamed model of an opened checkpoint (see the file comment); with `onUse`, each block's
 * projections are read when first used and freed after their product (tensor by tensor).
 */
export function streamedModel(ck: OpenedCheckpoint, opts: { onUse?: boolean } = {}): Model {
  const read = opts.onUse === true ? readBlockOnUse : readBlock;
  const { config, family } = ck;
  const head = readHead(ck);
  const affine = readAffineBlocks(ck);
  const source: DecoderWeights = {
    nBlocks: config.n_layers,
    pos_embed: head.pos_embed,
    embed_proj: head.embed_proj,
    ln_final: head.ln_final,
    embedTokens: (ids) => gatherEmbedding(ck, ids),
    // The block's weights and its intermediates are freed when it returns; its states stay.
    // With products on the native BLAS, nn.Linear weights stay [out, in] (no transposed copy).
    withBlock: (l, fn) => tf.tidy(() => fn(read(ck, l, { storedLayout: nativeMatmulInstalled() })) as tf.TensorContainer) as ReturnType<typeof fn>,
    logits: (final) => chunkedLogits(ck, head, final),
  };
  const owned = (): (tf.Tensor | undefined)[] => [
    head.pos_embed, head.embed_proj?.w, head.embed_proj?.b, head.ln_final?.w, head.ln_final?.b, head.unembed_proj?.w, head.unembed_proj?.b,
    ...[...affine.values()].flatMap(({ w, b }) => [w, b]),
  ];
  return {
    config,
    hfConfig: ck.hfConfig,
    streamed: true,
    forward: (ids, opts = {}) => runDecoderOn(family.decoder, config, source, ids, withAffineBlocks(affine, opts)),
    readout: { finalNorm: finalNormOf(family, config, head.ln_final), unembed: (h) => chunkedLogits(ck, head, h) },
    // The state dict is every weight at once: read them whole for it.
    stateDict: () => {
      const whole = wholeModel(ck);
      try {
        return whole.stateDict();
      } finally {
        whole.dispose();
      }
    },
    dispose: () => tf.dispose(owned().filter((t): t is tf.Tensor => t !== undefined)),
  };
}
