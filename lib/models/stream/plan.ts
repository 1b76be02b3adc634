/**
 * Whole or streamed: what a model needs in memory, and the choice a budget allows.
 *
 * Whole: every weight resident as float32 (W), plus one block's raw copy while loading.
 * Streamed: per forward, one block resident at a time, read and converted tensor by tensor (its
 * float32 size plus the raw copy of one tensor for a moment), plus the head (positions, final
 * norm, projections), plus one vocabulary chunk of the unembedding. The states of the sequences in
 * flight come on top of either; the rest of the budget is theirs.
 * Streamed tensor by tensor (`onUse`): where the family allows it, each projection is read when
 * the block's code first uses it and freed after its product: the block then needs its largest
 * projection twice (stored copy and transpose) plus its norms and biases
 * (lib/models/common/read-on-use.ts). Same reads, same products: only when each weight is
 * resident changes. It is the default (`readBy` "tensor"): a run then touches a projection's
 * worth of weight memory instead of a block's, and on the virtual machines this project is
 * measured on every fresh page costs (a first touch of 1 GiB: 1.8-3.8 s, free memory being handed
 * back to the host); TinyLlama's extraction held 126 MiB less and ran as fast or faster. A whole
 * block at a time (`readBy` "block") is kept for families whose blocks cannot be read by tensor
 * and for comparisons; it falls back to tensor by tensor when the block does not fit.
 */
import type { DecoderConfig } from "../config";
import type { OpenedCheckpoint } from "../load";
import { blockFloat32Bytes, blockOnUseBytes, largestTensorBytes, modelFloat32Bytes, namesOfBlock } from "../read";
import { formatBytes } from "./memory";

/** Rows of the vocabulary tables read at once for logits: this many bytes of float32. */
export const VOCAB_CHUNK_BYTES = 64 * 2 ** 20;

/**
 * The most the wasm backend's heap can hold (4 GiB of 32-bit addresses), less room for the
 * states a forward needs: a model or block past this cannot be resident in float32 there.
 */
export const WASM_HEAP_USABLE = 3.5 * 2 ** 30;

/** How a model runs: "auto" picks whole when it fits half the memory budget, else streamed block by block; or force one. */
export type RunMode = "auto" | "whole" | "streamed";

/**
 * What a streamed run's weights need at most at one time: the largest block converted, plus the
 * raw float32 copy of its largest tensor while that is converted, the resident head, and one
 * vocabulary chunk of the output projection (the whole table when it is smaller).
 */
export function streamedWeightPeak(blockBytes: number, largestTensorBytes: number, headBytes: number, vocabTableBytes: number): number {
  return blockBytes + largestTensorBytes + headBytes + Math.min(VOCAB_CHUNK_BYTES, vocabTableBytes);
}

/** How a streamed block's weights are read: each projection when first used ("tensor"), or the whole block before it runs ("block"). */
export type ReadBy = "tensor" | "block";

/** What a model needs and how it will run. */
export interface MemoryPlan {
  /** The budget planned for, bytes. */
  readonly budget: number;
  readonly mode: "whole" | "streamed";
  /** All weights in float32. */
  readonly weightBytes: number;
  /** The largest block in float32, and which. */
  readonly largestBlock: { readonly block: number; readonly bytes: number };
  /** What the weights need at most at one time in this mode (the rest is for states). */
  readonly weightPeak: number;
  /** The most one run's tensors can occupy: WASM_HEAP_USABLE on the wasm backend, unbounded on the others. */
  readonly heapLimit: number;
  /** Streamed tensor by tensor: each projection read when first used, freed after its product. */
  readonly onUse: boolean;
}

/**
 * Plan `ck` under `budget` bytes (see the file comment). Throws one line when even a single block
 * cannot fit. `readBy`: a streamed block's preferred reading (see {@link ReadBy}).
 */
export function planModel(ck: OpenedCheckpoint, budget: number, mode: RunMode = "auto", flag = "--memory", heapLimit = WASM_HEAP_USABLE, readBy: ReadBy = "tensor"): MemoryPlan {
  const n = ck.config.n_layers;
  let largest = { block: 0, bytes: 0 };
  let blockNeed = 0; // the largest block plus its largest tensor's raw copy
  let onUseNeed = 0; // the most a block needs read tensor by tensor
  let blocksTotal = 0;
  for (let l = 0; l < n; l++) {
    const bytes = blockFloat32Bytes(ck, l);
    blocksTotal += bytes;
    if (bytes > largest.bytes) largest = { block: l, bytes };
    blockNeed = Math.max(blockNeed, bytes + largestTensorBytes(ck, l));
    onUseNeed = Math.max(onUseNeed, blockOnUseBytes(ck, l));
  }
  const weightBytes = modelFloat32Bytes(ck);
  const vocabBytes = (t: string | undefined) => (t === undefined || !ck.tensors.has(t) ? 0 : 4 * ck.tensors.get(t)!.shape.reduce((a, b) => a * b, 1));
  const headBytes = weightBytes - blocksTotal - vocabBytes(ck.family.embedName) - vocabBytes(ck.config.tie_word_embeddings ? undefined : ck.family.unembedName);
  const wholePeak = weightBytes + largest.bytes;
  const vocabTable = vocabBytes(ck.config.tie_word_embeddings ? ck.family.embedName : ck.family.unembedName);
  const streamedPeak = streamedWeightPeak(blockNeed, 0, headBytes, vocabTable);
  const onUsePeak = streamedWeightPeak(onUseNeed, 0, headBytes, vocabTable);
  const name = `block ${largest.block} (${ck.family.blockPrefix}${largest.block}, ${namesOfBlock(ck, largest.block).length} tensors)`;
  // Whole when the weights take at most half the budget (the other half is for states) and fit the heap.
  const wholeFits = wholePeak <= budget / 2 && wholePeak <= heapLimit;
  const chosen = mode === "auto" ? (wholeFits ? "whole" : "streamed") : mode;
  if (chosen === "whole") {
    if (mode === "whole" && wholePeak > heapLimit) {
      throw new Error(`${ck.dir}: the whole model needs ${formatBytes(wholePeak)} in float32, more than the wasm heap can hold (${formatBytes(heapLimit)}); let it stream`);
    }
    return { budget, mode: "whole", weightBytes, largestBlock: largest, weightPeak: wholePeak, heapLimit, onUse: false };
  }
  const streamed = { budget, mode: "streamed", weightBytes, largestBlock: largest, heapLimit } as const;
  const byTensorFits = ck.family.projectionsOnUse && onUsePeak <= budget && onUseNeed <= heapLimit;
  // Tensor by tensor where the family allows it (fewest fresh pages), unless a whole block is asked for...
  if (readBy === "tensor" && byTensorFits) return { ...streamed, weightPeak: onUsePeak, onUse: true };
  // ...else a whole block at a time when it fits both the budget and the heap...
  if (streamedPeak <= budget && blockNeed <= heapLimit) return { ...streamed, weightPeak: streamedPeak, onUse: false };
  // ...else tensor by tensor, where the family allows it and that fits.
  if (byTensorFits) return { ...streamed, weightPeak: onUsePeak, onUse: true };
  const byTensor = ck.family.projectionsOnUse ? `; ${formatBytes(onUsePeak)} read tensor by tensor` : "";
  if (streamedPeak > budget && (!ck.family.projectionsOnUse || onUsePeak > budget)) {
    throw new Error(
      `${ck.dir}: ${name} needs ${formatBytes(largest.bytes)} in float32 (${formatBytes(streamedPeak)} with a tensor's conversion copy, the head and a vocabulary chunk${byTensor}), more than the memory budget of ${formatBytes(budget)} (${flag})`,
    );
  }
  throw new Error(
    `${ck.dir}: ${name} needs ${formatBytes(blockNeed)} in float32 while it is converted${byTensor ? ` (${formatBytes(onUseNeed)} read tensor by tensor)` : ""}, more than the wasm heap can hold (${formatBytes(heapLimit)}); blocks this large run only on a native backend (tfjs-node)`,
  );
}

/** The most tokens one streamed forward takes (bounds the group when the budget is large). */
export const MAX_GROUP_TOKENS = 32768;

/**
 * Bytes one token of a forward holds beyond the weights: the `storedStates` states it returns
 * (in the heap, and the copy a caller reads out), a block's intermediates (q, k, v and the
 * attention output, the MLP's hidden width three times, a row of attention scores per head) and
 * `extraPerToken` (e.g. logits).
 */
export function forwardBytesPerToken(cfg: DecoderConfig, seqLen: number, storedStates: number, extraPerToken = 0): number {
  const work = 6 * cfg.d_model + 3 * cfg.d_mlp + 3 * cfg.n_heads * seqLen;
  return 4 * (2 * storedStates * cfg.d_model + work) + extraPerToken;
}

/**
 * Sequences per forward. Whole runs keep `requested`. A streamed forward reads every block once,
 * so it takes as many sequences as the budget holds beyond the weights (fewer, larger forwards
 * read the weights fewer times), at least `requested` when they fit, fewer (down to one) when
 * they do not, and at most MAX_GROUP_TOKENS tokens. Throws one line when not even one sequence's
 * states fit beside the weights.
 */
export function sequencesPerForward(
  plan: MemoryPlan, cfg: DecoderConfig, seqLen: number, requested: number, storedStates: number, extraPerToken = 0,
): number {
  if (plan.mode === "whole") return requested;
  const perSequence = seqLen * forwardBytesPerToken(cfg, seqLen, storedStates, extraPerToken);
  const free = Math.min(plan.budget, plan.heapLimit) - plan.weightPeak;
  const fits = Math.floor(free / perSequence);
  if (fits < 1) {
    throw new Error(
      `one sequence of ${seqLen} tokens needs about ${formatBytes(perSequence)} for its states, more than the memory budget of ${formatBytes(plan.budget)} leaves beside the weights (${formatBytes(Math.max(0, free))}); use a smaller --seq-len or a larger --memory`,
    );
  }
  const cap = Math.max(1, Math.floor(MAX_GROUP_TOKENS / seqLen));
  return fits >= requested ? Math.max(requested, Math.min(fits, cap)) : fits;
}
