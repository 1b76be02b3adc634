/**
 * Hand-built tokenizer.json files for tests: a GPT-2-style byte-level BPE, a GPT-NeoX/Pythia-style
 * one (specials first, NFC, whitespace-run added tokens) and a Llama-style (SentencePiece BPE with
 * byte fallback) tokenizer, each with a handful of merges. Written here
 * from the published formats, not produced by the code under test.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

export const GPT2_MERGES = ["h e", "t he", "Ġ c", "Ġc a", "Ġca t", "Ġ t", "Ġt he", "a t", "Ã ©"];

/** Byte-level BPE: ids 0..255 are the bytes (in byte order), then one id per merge, then EOS. */
export function gpt2TokenizerJson(): { json: Record<string, unknown>; vocab: Map<string, number>; eos: number } {
  const b2u = bytesToUnicode();
  const vocab = new Map<string, number>();
  b2u.forEach((ch, b) => vocab.set(ch, b));
  for (const m of GPT2_MERGES) vocab.set(m.replace(" ", ""), vocab.size);
  const eos = vocab.size;
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      { id: eos, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab),
      merges: GPT2_MERGES,
    },
  };
  vocab.set("<|endoftext|>", eos);
  return { json, vocab, eos };
}

export const NEOX_MERGES = ["Ġ Ġ", "Ġ t", "h e", "t he", "Ġt he", "Ġ c", "a t", "Ġc at", "Ã ©"];

/**
 * The layout of Pythia's tokenizer.json (EleutherAI/gpt-neox-20b's): <|endoftext|> = 0 and
 * <|padding|> = 1 come first, the 256 byte symbols follow in bytes_to_unicode order (printable
 * bytes first), then one id per merge; an NFC normalizer; ByteLevel pre-tokenizer, post-processor
 * and decoder without prefix space; and non-special added tokens for runs of spaces (Pythia has
 * runs of 2 to 24; here 2 and 4), which split the text before BPE.
 */
export function neoxTokenizerJson(): { json: Record<string, unknown>; vocab: Map<string, number> } {
  const vocab = new Map<string, number>([["<|endoftext|>", 0], ["<|padding|>", 1]]);
  const b2u = bytesToUnicode();
  const order = [...b2u.keys()].sort((a, b) => b2u[a].charCodeAt(0) - b2u[b].charCodeAt(0));
  for (const b of order) vocab.set(b2u[b], vocab.size);
  for (const m of NEOX_MERGES) vocab.set(m.replace(" ", ""), vocab.size);
  const added = (id: number, content: string, special: boolean) => ({
    id, special, content, single_word: false, lstrip: false, rstrip: false, normalized: !special,
  });
  const ws4 = vocab.size, ws2 = vocab.size + 1;
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(0, "<|endoftext|>", true), added(1, "<|padding|>", true), added(ws4, "    ", false), added(ws2, "  ", false)],
    normalizer: { type: "NFC" },
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      vocab: Object.fromEntries(vocab),
      merges: NEOX_MERGES,
    },
  };
  vocab.set("    ", ws4);
  vocab.set("  ", ws2);
  return { json, vocab };
}

export const LLAMA_MERGES = ["▁ t", "h e", "▁t he", "▁ c", "a t", "▁c at", "é t", "▁ é"];

/** Llama-2-style: <unk>, <s>, </s>, <0x00>..<0xFF>, "▁", some letters, then merges. */
export function llamaTokenizerJson(): { json: Record<string, unknown>; vocab: Map<string, number> } {
  const vocab = new Map<string, number>([["<unk>", 0], ["<s>", 1], ["</s>", 2]]);
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, vocab.size);
  for (const ch of ["▁", ..."abcdefghijklmnopqrstuvwxyz", "é", "."]) vocab.set(ch, vocab.size);
  for (const m of LLAMA_MERGES) vocab.set(m.replace(" ", ""), vocab.size);
  const special = (id: number, content: string) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 0 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(vocab),
      merges: LLAMA_MERGES,
    },
  };
  return { json, vocab };
}

export function writeTokenizerDir(dir: string, json: Record<string, unknown>, config?: Record<string, unknown>): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(json));
  if (config) fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(config));
  return dir;
}
