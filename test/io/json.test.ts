/**
 * Issue 20 low items: JSON reads are size-capped (/dev/zero as config.json or tokenizer.json grew
 * memory ~1 GB/s) and parse errors say where without quoting the file's bytes; a tokenizer.json
 * id of 2e9 is refused at once instead of hanging tokenizers.js.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { parseJsonText, readJsonFile, readTextCapped } from "../../lib/io/json";
import { loadModel } from "../../lib/models/load";
import { loadTokenizer } from "../../lib/tokenizer";
import { tempDir } from "./helpers";

const root = tempDir("linearity-json-");
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const hasDevZero = fs.existsSync("/dev/zero");

describe("readJsonFile", () => {
  it("parse errors name the file and the place, never the file's bytes", () => {
    const secret = "SECRET-BYTES-" + "x".repeat(40);
    expect(() => parseJsonText("f.json", secret)).toThrow(/^f\.json: not valid JSON \(Unexpected token 'S'\)$/);
    expect(() => parseJsonText("f.json", `{"a": 1,\n "b" 2}`)).toThrow("f.json: not valid JSON (Unexpected number, at line 2, column 6)");
    expect(() => parseJsonText("f.json", "{")).toThrow("f.json: not valid JSON (Expected property name or '}', at line 1, column 2)");
    expect(() => parseJsonText("f.json", "\u0000\u0001binary")).toThrow("f.json: not valid JSON (Unexpected token character U+0000)");
    const file = path.join(root, "bad.json");
    fs.writeFileSync(file, secret);
    try {
      readJsonFile(file);
    } catch (err) {
      expect((err as Error).message).not.toContain("SECRET");
    }
  });

  it("refuses files over the cap, and a device that never ends", () => {
    const file = path.join(root, "big.json");
    fs.writeFileSync(file, JSON.stringify({ a: "y".repeat(2000) }));
    expect(() => readTextCapped(file, 1000)).toThrow(`${file}: 2008 bytes, more than the 1000 this reader accepts`);
    expect(readJsonFile(file)).toEqual({ a: "y".repeat(2000) });
    expect(() => readJsonFile(path.join(root, "missing.json"))).toThrow("missing.json: no such file");
    if (!hasDevZero) {
      console.warn("skipped: /dev/zero is absent on this system");
      return;
    }
    expect(() => readTextCapped("/dev/zero", 4 << 20)).toThrow(`/dev/zero: more than ${4 << 20} bytes (a device or pipe that does not end?)`);
  });

  it.runIf(hasDevZero)("config.json and tokenizer.json linked to /dev/zero are refused, naming the file", () => {
    const dir = path.join(root, "zero-model");
    fs.mkdirSync(dir);
    fs.symlinkSync("/dev/zero", path.join(dir, "config.json"));
    expect(() => loadModel(dir)).toThrow(`${path.join(dir, "config.json")}: more than 268435456 bytes`);
    const tok = path.join(root, "zero-tok");
    fs.mkdirSync(tok);
    fs.symlinkSync("/dev/zero", path.join(tok, "tokenizer.json"));
    expect(() => loadTokenizer(tok, {})).toThrow(`${path.join(tok, "tokenizer.json")}: more than 268435456 bytes`);
  });
});

describe("tokenizer.json ids", () => {
  const bpe = (vocab: Record<string, number>) => JSON.stringify({
    version: "1.0", added_tokens: [], normalizer: null, pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null, decoder: { type: "ByteLevel" }, model: { type: "BPE", vocab, merges: [] },
  });

  it("an id of 2e9 is refused at once, naming the file, the entry and the limit", () => {
    const dir = path.join(root, "huge-id");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "tokenizer.json"), bpe({ a: 0, b: 1, zz: 2000000000 }));
    expect(() => loadTokenizer(dir, {})).toThrow(`${path.join(dir, "tokenizer.json")}: model.vocab entry "zz" has id 2000000000, outside 0..16777215 (2^24 (16777216))`);
    expect(() => loadTokenizer(dir, { d_vocab: 100 })).toThrow(`model.vocab entry "zz" has id 2000000000, outside 0..99 (the model's d_vocab 100)`);
    fs.writeFileSync(path.join(dir, "tokenizer.json"), bpe({ a: 0, b: 1.5 }));
    expect(() => loadTokenizer(dir, {})).toThrow(`model.vocab entry "b" has id 1.5`);
  });
});
