/**
 * The unigram baseline: a model that ignores context and predicts each byte with its frequency
 * in the training text, add-one (Laplace) smoothed over the 256 byte values:
 *   p(b) = (count(b) + 1) / (N + 256)
 * Its loss on held-out text is the bar a language model must clearly beat.
 *
 * Units: for a byte-level model one token is one byte, so nats/token = nats/byte, and
 * bits/byte = (nats/token) / ln 2.
 */

/** Byte counts of a stream. */
export function byteCounts(stream: Uint8Array): Float64Array {
  const counts = new Float64Array(256);
  for (let i = 0; i < stream.length; i++) counts[stream[i]] += 1;
  return counts;
}

/** Add-one smoothed probabilities from byte counts: (count + 1) / (N + 256). */
export function unigramProbabilities(counts: Float64Array): Float64Array {
  if (counts.length !== 256) throw new Error(`unigramProbabilities: expected 256 counts, got ${counts.length}`);
  let total = 0;
  for (const c of counts) total += c;
  const p = new Float64Array(256);
  for (let b = 0; b < 256; b++) p[b] = (counts[b] + 1) / (total + 256);
  return p;
}

/** Mean cross-entropy in nats of `targets` (byte values 0..255) under probabilities `p`. */
export function unigramLoss(p: Float64Array, targets: ArrayLike<number>): number {
  if (targets.length === 0) throw new Error("unigramLoss: no targets");
  let sum = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    if (!(t >= 0 && t < 256 && Number.isInteger(t))) {
      throw new Error(`unigramLoss: target ${i} is ${t}, expected a byte value 0..255`);
    }
    sum -= Math.log(p[t]);
  }
  return sum / targets.length;
}

/** nats per token -> bits per byte, for a byte-level model (one token is one byte). */
export function natsToBitsPerByte(nats: number): number {
  return nats / Math.LN2;
}
