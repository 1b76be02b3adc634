/**
 * Tokenizers from a Hugging Face tokenizer.json, run by @huggingface/tokenizers (tokenizers.js,
 * pure JavaScript, local files only). The library gives ids but no offsets; offsets.ts derives
 * them by incremental decoding.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { readJsonFile } from "../io/json";
import { alignDecoded, decodePieces, piecesToOffsets } from "./offsets";
import type { Encoded, TextTokenizer, TokenizerModelConfig } from "./types";

/** Characters per encode call: long texts are cut at a newline near this size (see encode). */
const BLOCK_CHARS = 16384;

/** A JSON object file, size-capped and with errors that name it (io/json.ts). */
function readJson(file: string): Record<string, unknown> {
  const parsed = readJsonFile(file);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${file}: not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Ids above this are refused when the model's vocabulary size is unknown (real vocabularies stay below 2^21). */
const MAX_TOKEN_ID = 2 ** 24;

/**
 * Refuse ids tokenizers.js would turn into a huge array before any check (its get_vocab walks
 * 0..max id: an id of 2e9 hangs for minutes): every id of model.vocab (BPE/WordPiece: name ->
 * id) and added_tokens must be an integer below the model's d_vocab, or 2^24 when unknown.
 */
function checkVocabIds(json: Record<string, unknown>, dVocab: number | undefined, source: string): void {
  const limit = dVocab !== undefined && Number.isSafeInteger(dVocab) && dVocab > 0 ? dVocab : MAX_TOKEN_ID;
  const where = dVocab !== undefined && limit === dVocab ? `the model's d_vocab ${dVocab}` : `2^24 (${MAX_TOKEN_ID})`;
  const check = (id: unknown, name: string, field: string): void => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= limit) {
      throw new Error(`${source}: ${field} entry ${JSON.stringify(name).slice(0, 60)} has id ${JSON.stringify(id)}, outside 0..${limit - 1} (${where})`);
    }
  };
  const vocab = (json.model as { vocab?: unknown } | undefined)?.vocab;
  if (vocab !== null && typeof vocab === "object" && !Array.isArray(vocab)) {
    for (const [name, id] of Object.entries(vocab as Record<string, unknown>)) check(id, name, "model.vocab");
  }
  const added = json.added_tokens;
  if (Array.isArray(added)) {
    for (const t of added) check((t as { id?: unknown })?.id, String((t as { content?: unknown })?.content), "added_tokens");
  }
}

export class HfTokenizer implements TextTokenizer {
  readonly bosTokenId?: number;
  readonly vocabSize: number;
  readonly kind: string;
  private readonly tokenizer: Tokenizer;
  /** The tokenizer.json file, for error messages. */
  private readonly source: string;

  /**
   * @param tokenizerJson the parsed tokenizer.json
   * @param tokenizerConfig the parsed tokenizer_config.json ({} when the folder has none)
   * @param config the model config: bos_token_id decides the BOS of every sequence
   */
  constructor(
    tokenizerJson: Record<string, unknown>,
    tokenizerConfig: Record<string, unknown>,
    config: TokenizerModelConfig = {},
    source = "tokenizer.json",
  ) {
    this.source = source;
    checkVocabIds(tokenizerJson, config.d_vocab ?? config.vocab_size, source);
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new Error(`${source}: not a tokenizer tokenizers.js can load: ${(err as Error).message}`);
    }
    const model = tokenizerJson.model as { type?: string } | undefined;
    this.kind = `tokenizer.json (${model?.type ?? "unknown model"})`;
    const bos = config.bos_token_id;
    if (bos !== undefined && bos !== null) this.bosTokenId = bos;
    let maxId = -1;
    for (const id of this.tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  /** Read dir/tokenizer.json (+ dir/tokenizer_config.json when present). */
  static fromDir(dir: string, config: TokenizerModelConfig = {}): HfTokenizer {
    const file = path.join(dir, "tokenizer.json");
    const cfgFile = path.join(dir, "tokenizer_config.json");
    const tokenizerConfig = fs.existsSync(cfgFile) ? readJson(cfgFile) : {};
    return new HfTokenizer(readJson(file), tokenizerConfig, config, file);
  }

  /**
   * Ids without special tokens, with character offsets. Texts longer than BLOCK_CHARS are
   * encoded block by block, each block ending after a newline, so time stays linear; pre-tokenizers
   * of decoder models split at newlines anyway, so the ids match a single call in practice.
   */
  encode(text: string): Encoded {
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    let start = 0;
    while (start < text.length) {
      let end = Math.min(text.length, start + BLOCK_CHARS);
      if (end < text.length) {
        const nl = text.lastIndexOf("\n", end - 1);
        if (nl >= start + BLOCK_CHARS / 2) end = nl + 1;
      }
      const block = this.encodeBlock(text.slice(start, end));
      for (let k = 0; k < block.ids.length; k++) {
        ids.push(block.ids[k]);
        offsets.push([block.offsets[k][0] + start, block.offsets[k][1] + start]);
      }
      start = end;
    }
    return { ids, offsets };
  }

  private encodeBlock(text: string): Encoded {
    let ids: number[];
    try {
      ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    } catch (err) {
      throw new Error(`${this.source}: the tokenizer failed to encode the text: ${(err as Error).message.split("\n")[0]}`);
    }
    if (ids.length === 0) return { ids, offsets: [] };
    // decodePieces decodes every id with the short group before it, then alone; the same ids and
    // pairs recur throughout a text, so those short decodes are remembered for the block (it
    // halved the offsets' share of tokenizing a Brown document with TinyLlama's tokenizer).
    const short = new Map<string, string>();
    const decode = (window: number[]): string => {
      if (window.length > 2) return this.decodeRaw(window);
      const key = window.join(",");
      let text = short.get(key);
      if (text === undefined) short.set(key, (text = this.decodeRaw(window)));
      return text;
    };
    const pieces = decodePieces(decode, ids);
    const pieceOffsets = piecesToOffsets(pieces);
    const map = alignDecoded(pieces.join(""), text);
    const offsets = pieceOffsets.map(([s, e]): [number, number] => [map[s], Math.max(map[s], map[e])]);
    return { ids, offsets };
  }

  /** Decode keeping special tokens and every space (no clean-up of " ." etc.). */
  private decodeRaw(ids: readonly number[]): string {
    if (ids.length === 0) return "";
    return this.tokenizer.decode([...ids], {
      skip_special_tokens: false,
      clean_up_tokenization_spaces: false,
    });
  }

  decode(ids: readonly number[]): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`${this.source}: cannot decode id ${id}, outside 0..${this.vocabSize - 1}`);
      }
    }
    return this.decodeRaw(ids);
  }
}
