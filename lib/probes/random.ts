/**
 * Seeded pseudo-random numbers for probes: reproducible splits, shuffles and initialisations.
 *
 * Why not tfjs's RNG: tfjs seeds each random op separately (`tf.randomUniform(shape, .., seed)`)
 * and its unseeded ops draw from a global generator whose state depends on every other random op
 * the process ran before (other notebook cells, other libraries). A small generator of our own,
 * driven only by the seed the caller gives, makes a probe run identical on every backend and in
 * every process.
 */

/**
 * mulberry32: a 32-bit state generator (Tommy Ettinger's constants). Returns a function giving
 * uniform floats in [0, 1) with 2^-32 resolution. Good statistical quality for shuffles and
 * initialisation; not for cryptography.
 */
export function mulberry32(seed: number): () => number {
  if (!Number.isInteger(seed)) {
    throw new Error(`mulberry32: 'seed' expected an integer, got ${seed}`);
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
