/** The text each token stands for, for showing tokens over their text. */

/**
 * The text of each token from the tokenizer's character offsets: a token gets its slice of the
 * text, except one that covers the same characters as the token before it (the later bytes of a
 * multi-byte character), which gets "" so the character is shown once. `bos` prepends a token
 * shown as "⟨bos⟩".
 */
export function tokenPieces(text: string, offsets: readonly (readonly [number, number])[], bos = false): string[] {
  const out: string[] = bos ? ["\u27e8bos\u27e9"] : [];
  let prev: readonly [number, number] | undefined;
  for (const o of offsets) {
    out.push(prev && prev[0] === o[0] && prev[1] === o[1] ? "" : text.slice(o[0], o[1]));
    prev = o;
  }
  return out;
}
