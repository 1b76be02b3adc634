/**
 * One way to open a model for a command or a notebook: resolve a hub id or folder, open and check
 * the checkpoint, choose whole or streamed under a memory budget (lib/models/stream/plan.ts), load
 * the tokenizer, check it against the vocabulary, and answer the sequence-length policy. Every
 * command that runs a model (extract, lens, eval, prune, the sweep, checkpoint linearity) opens it
 * here.
 */
import { resolveModel, type DownloadProgress } from "../hub/hub";
import { prefaultHeap } from "../native/wasm-heap";
import { loadTokenizer, type TextTokenizer } from "../tokenizer";
import type { DecoderConfig } from "./config";
import { FAMILIES } from "./registry";
import { openCheckpoint, planFor } from "./load";
import type { MemoryPlan, ReadBy, RunMode } from "./stream/plan";
import { streamedModel } from "./stream/streamed";
import type { Model } from "./types";
import { wholeModel } from "./whole";

/** Options of `openModel`: hub revision, download progress, memory budget, run mode, tokenizer or not. */
export interface OpenModelOptions {
  /** Hub revision when the model is a hub id. */
  revision?: string;
  onDownload?: (p: DownloadProgress) => void;
  /** Memory budget: bytes, or a size such as "4G" (default: three quarters of the memory available at start). */
  memory?: number | string;
  /** "auto" (default): whole when it fits half the budget, else streamed; or force one. */
  run?: RunMode;
  /** Load no tokenizer (worker threads, which get token ids). */
  noTokenizer?: boolean;
  /** A streamed block's weights read tensor by tensor (default, where the family allows it) or whole (see planModel). */
  readBy?: ReadBy;
}

/** An opened model: a {@link Model} plus where it came from, its tokenizer and its memory plan. */
export interface OpenedModel extends Model {
  /** The local checkpoint folder. */
  readonly dir: string;
  readonly tokenizer: TextTokenizer;
  readonly plan: MemoryPlan;
}

/**
 * The sequence length a run uses: `requested`, or min(`fallback`, n_ctx) when not given. Refused
 * only where the model cannot run it: past the learned positions of GPT-2 and OPT. Rotary
 * families (Llama, Qwen2, Mistral, GPT-NeoX) run past max_position_embeddings, as HF does.
 */
export function sequenceLength(cfg: DecoderConfig, requested: number | undefined, fallback: number, what = "'seqLen'"): number {
  if (requested === undefined) return Math.min(fallback, cfg.n_ctx);
  const max = FAMILIES[cfg.family].maxPositions(cfg);
  if (max !== undefined && requested > max) throw new Error(`${what} ${requested} exceeds the model's n_ctx ${max} (its learned positions)`);
  return requested;
}

/** Refuse a tokenizer whose ids or BOS fall outside the model's vocabulary. */
export function checkVocabulary(tokenizer: TextTokenizer, cfg: DecoderConfig, dir: string): void {
  if (tokenizer.vocabSize > cfg.d_vocab) {
    throw new Error(`tokenizer in ${dir} has ${tokenizer.vocabSize} ids but the model's d_vocab is ${cfg.d_vocab}; they do not belong together`);
  }
  if (tokenizer.bosTokenId !== undefined && tokenizer.bosTokenId >= cfg.d_vocab) {
    throw new Error(`bos_token_id ${tokenizer.bosTokenId} is outside the model's d_vocab ${cfg.d_vocab}`);
  }
}

/**
 * Heap prefaulted beyond the weights, for the first forward pass's activations. Small, because a
 * page prefaulted and never used costs as much as one used: TinyLlama's 512-token extraction
 * needed 188 MiB of heap for a weight peak of 156 MiB, and ran 0.2-0.3 s faster with 32 MiB of
 * headroom than with 128.
 */
const ACTIVATION_HEADROOM = 32 * 2 ** 20;

/** {@link openModel} on a local folder, synchronously. */
export function openLocalModel(dir: string, opts: Omit<OpenModelOptions, "revision" | "onDownload"> = {}): OpenedModel {
  const ck = openCheckpoint(dir);
  const plan = planFor(ck, opts);
  const tokenizer = opts.noTokenizer ? undefined : loadTokenizer(dir, ck.config);
  if (tokenizer !== undefined) checkVocabulary(tokenizer, ck.config, dir);
  // On the native route, the weights' pages and a forward's first activations are faulted in on
  // a background thread while the weights are read (lib/native/wasm-heap.ts).
  prefaultHeap(Math.min(plan.weightPeak + ACTIVATION_HEADROOM, plan.heapLimit / 2));
  const model = plan.mode === "whole" ? wholeModel(ck) : streamedModel(ck, { onUse: plan.onUse });
  return Object.defineProperties(model, {
    dir: { value: dir, enumerable: true },
    plan: { value: plan, enumerable: true },
    tokenizer: {
      enumerable: true,
      get: (): TextTokenizer => {
        if (tokenizer === undefined) throw new Error("openModel: opened with noTokenizer");
        return tokenizer;
      },
    },
  }) as OpenedModel;
}

/** Resolve `idOrDir` (a local folder, or a hub id downloaded into the cache) and open it (see the file comment). */
export async function openModel(idOrDir: string, opts: OpenModelOptions = {}): Promise<OpenedModel> {
  const dir = await resolveModel(idOrDir, { revision: opts.revision, onProgress: opts.onDownload });
  return openLocalModel(dir, opts);
}
