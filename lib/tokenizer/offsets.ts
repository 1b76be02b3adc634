/**
 * Character offsets for tokenizers that do not report them (tokenizers.js gives ids and token
 * strings only).
 *
 * Two steps:
 * 1. `decodePieces` decodes the ids incrementally, the way the Rust library's DecodeStream does:
 *    each step decodes a short window (the previous emitted group plus the new ids) and emits the
 *    text beyond the window's known prefix once it no longer ends in U+FFFD (an unfinished UTF-8
 *    character of a byte-level BPE). The pieces concatenate to the full decode, and the window
 *    keeps one group of context so decoders that strip the first token's leading space
 *    (SentencePiece "▁") only touch context, never the new piece. Cost: O(tokens x window).
 * 2. `alignDecoded` maps positions in that decoded string back to the original text. Usually the
 *    two are equal and the map is the identity; normalizers (lowercasing, NFKC, dropped control
 *    characters, unknown tokens) make them differ, and a greedy re-synchronizing alignment
 *    covers those cases.
 */

/** Longest run of ids kept pending before a piece is forced out (guards against a real U+FFFD). */
const MAX_PENDING = 16;

/**
 * Text contributed by each id: pieces[k] is what id k adds to the decode of ids[0..k]. An id that
 * only starts a multi-byte character contributes "" (the id that completes it carries the text).
 */
export function decodePieces(decode: (ids: number[]) => string, ids: readonly number[]): string[] {
  const pieces: string[] = new Array(ids.length).fill("");
  let window: number[] = []; // context group + pending ids
  let prefix = ""; // decode of the context group
  let contextLength = 0; // how many ids at the start of `window` are context
  for (let k = 0; k < ids.length; k++) {
    window.push(ids[k]);
    const text = decode(window);
    const pending = window.length - contextLength;
    const complete = text.length > prefix.length && !text.endsWith("\uFFFD");
    if (!complete && pending < MAX_PENDING && k < ids.length - 1) continue;
    // Emit: the new text beyond the context. If a decoder rewrote the context (should not happen),
    // fall back to the part after the longest common prefix.
    let common = prefix.length;
    if (!text.startsWith(prefix)) {
      common = 0;
      while (common < prefix.length && common < text.length && text[common] === prefix[common]) common++;
    }
    pieces[k] = text.slice(common);
    // The emitted group becomes the context of the next step.
    window = window.slice(contextLength);
    contextLength = window.length;
    prefix = decode(window);
  }
  return pieces;
}

/**
 * [start, end) offsets into the concatenated pieces. An id with an empty piece (the first bytes of
 * a multi-byte character) gets the span of the next character emitted, so it is tagged with the
 * word it belongs to.
 */
export function piecesToOffsets(pieces: readonly string[]): [number, number][] {
  const starts: number[] = [];
  let pos = 0;
  for (const p of pieces) {
    starts.push(pos);
    pos += p.length;
  }
  const offsets: [number, number][] = new Array(pieces.length);
  let nextStart = pos; // start of the next non-empty piece, scanning backwards
  let nextFirstChar = 0; // length in code units of that piece's first character
  for (let k = pieces.length - 1; k >= 0; k--) {
    const p = pieces[k];
    if (p.length > 0) {
      offsets[k] = [starts[k], starts[k] + p.length];
      nextStart = starts[k];
      nextFirstChar = p.codePointAt(0)! > 0xffff ? 2 : 1;
    } else {
      offsets[k] = [nextStart, nextStart + nextFirstChar];
    }
  }
  return offsets;
}

function sameChar(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase() || a.normalize("NFKC") === b.normalize("NFKC");
}

/** Characters compared after a mismatch to accept a re-synchronization point. */
const RESYNC_RUN = 3;
/** Farthest skip (in either string) tried when looking for a re-synchronization point. */
const RESYNC_WINDOW = 48;

/**
 * Map every position 0..decoded.length of `decoded` to a position in `text` (monotone). Equal
 * strings give the identity. After a mismatch, the smallest pair of skips (a in text, b in
 * decoded) after which RESYNC_RUN characters agree is taken; skipped decoded characters map to the
 * current text position, so their tokens get the span of the text they replace.
 */
export function alignDecoded(decoded: string, text: string): Int32Array {
  const map = new Int32Array(decoded.length + 1);
  if (decoded === text) {
    for (let j = 0; j <= decoded.length; j++) map[j] = j;
    return map;
  }
  const agree = (i: number, j: number): boolean => {
    const run = Math.min(RESYNC_RUN, decoded.length - j, text.length - i);
    if (run <= 0) return decoded.length - j === 0 && text.length - i === 0;
    for (let r = 0; r < run; r++) if (!sameChar(decoded[j + r], text[i + r])) return false;
    return true;
  };
  let i = 0;
  let j = 0;
  while (j < decoded.length) {
    map[j] = i;
    if (i < text.length && sameChar(decoded[j], text[i])) {
      i++;
      j++;
      continue;
    }
    let skipText = -1;
    let skipDecoded = -1;
    search: for (let total = 1; total <= 2 * RESYNC_WINDOW; total++) {
      for (let b = 0; b <= Math.min(total, RESYNC_WINDOW); b++) {
        const a = total - b;
        if (a > RESYNC_WINDOW || i + a > text.length || j + b > decoded.length) continue;
        if (agree(i + a, j + b)) {
          skipText = a;
          skipDecoded = b;
          break search;
        }
      }
    }
    if (skipText < 0) {
      // No agreement nearby: treat the characters as substitutions, one for one.
      i = Math.min(i + 1, text.length);
      j++;
      continue;
    }
    for (let b = 0; b < skipDecoded; b++) map[j + b] = i;
    i += skipText;
    j += skipDecoded;
  }
  map[decoded.length] = i;
  return map;
}
