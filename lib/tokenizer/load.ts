/**
 * Pick the tokenizer for a model folder: tokenizer.json when present (tokenizers.js), else the
 * byte-level tokenizer (the project's own models ship none).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ByteTokenizer } from "./byte";
import { HfTokenizer } from "./hf";
import type { TextTokenizer, TokenizerModelConfig } from "./types";

/** The tokenizer of a model folder: Hugging Face's tokenizer.json, else the byte-level tokenizer of this project's models. */
export function loadTokenizer(dir: string, config: TokenizerModelConfig = {}): TextTokenizer {
  if (fs.existsSync(path.join(dir, "tokenizer.json"))) return HfTokenizer.fromDir(dir, config);
  const vocab = config.d_vocab ?? config.vocab_size;
  if (vocab !== undefined && vocab > 512) {
    // A large vocabulary without tokenizer.json is almost surely a folder missing its tokenizer:
    // byte ids would run the model on nonsense.
    throw new Error(
      `tokenizer: ${dir} has no tokenizer.json and the model's d_vocab is ${vocab}; ` +
        `bytes fit only models with d_vocab 256..512 (copy the model's tokenizer.json into the folder)`,
    );
  }
  return new ByteTokenizer(config);
}
