/**
 * Seeded pseudo-random numbers for probes: reproducible splits, shuffles and initialisations, on
 * the project's one generator (lib/numerics/random.ts says why not tfjs's RNG).
 */
import { uniformRng } from "../numerics/random";

/**
 * mulberry32 ({@link uniformRng} of lib/numerics/random.ts) with the seed checked: uniform floats
 * in [0, 1) with 2^-32 resolution. Good statistical quality for shuffles and initialisation; not
 * for cryptography.
 */
export function mulberry32(seed: number): () => number {
  if (!Number.isInteger(seed)) {
    throw new Error(`mulberry32: 'seed' expected an integer, got ${seed}`);
  }
  return uniformRng(seed);
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates), drawn from `rand`. */
export function permutation(n: number, rand: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

/** `count` values uniform in [-bound, bound), drawn from `rand`. */
export function uniformArray(count: number, bound: number, rand: () => number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * rand() - 1) * bound;
  return out;
}
