/**
 * Text to extract hidden states from: a UTF-8 text file, or the Brown Corpus (all of it, or the
 * project's train / held-out split). Each source is a list of documents; sequences never span two
 * documents, so every sample carries the id of the document it came from.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { brownSplit, loadBrown, type BrownDocument, type TaggedSpan } from "../corpus/brown";

/** One document of a `--text` source: its id, its text and, for Brown, the part-of-speech spans. */
export interface TextDocument {
  /** Brown file id ("ca01") or the text file's name. */
  readonly id: string;
  readonly text: string;
  /** Part-of-speech spans (Brown only), so each token can carry its word's tag. */
  readonly spans?: readonly TaggedSpan[];
}

/** The parsed corpus by spec, read once per process (its 500 files take most of a second). */
const brownCache = new Map<string, BrownDocument[]>();

export const BROWN_SPECS = ["corpus:brown", "corpus:brown:train", "corpus:brown:heldout"] as const;

/** Read a --text argument: a file path or one of BROWN_SPECS. */
export function loadTextSource(spec: string): TextDocument[] {
  if (spec.startsWith("corpus:")) {
    if (!(BROWN_SPECS as readonly string[]).includes(spec)) {
      throw new Error(`text: unknown corpus '${spec}'; expected one of ${BROWN_SPECS.join(", ")} or a file`);
    }
    let docs = brownCache.get(spec);
    if (docs === undefined) {
      // Only the files of the part asked for are parsed (the held-out tenth: a tenth of the time).
      const part = spec.split(":")[2] as "train" | "heldout" | undefined;
      const all = brownCache.get("corpus:brown");
      docs = all !== undefined && part !== undefined ? brownSplit(all, part) : loadBrown(undefined, part);
      brownCache.set(spec, docs);
    }
    // Read through: a document's file is parsed when its text is first needed (lib/corpus/brown.ts).
    return docs.map((d) => Object.defineProperties({ id: d.id }, { text: { enumerable: true, get: () => d.text }, spans: { enumerable: true, get: () => d.spans } }) as TextDocument);
  }
  if (!fs.existsSync(spec)) throw new Error(`text: file ${spec} does not exist`);
  if (fs.statSync(spec).isDirectory()) throw new Error(`text: ${spec} is a folder; pass a UTF-8 text file`);
  const text = fs.readFileSync(spec, "utf8");
  if (text.trim().length === 0) throw new Error(`text: ${spec} is empty; there is nothing to extract`);
  return [{ id: path.basename(spec), text }];
}
