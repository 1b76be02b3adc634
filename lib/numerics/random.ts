/**
 * Seeded pseudo-random numbers (reproducible baselines, benchmarks, probe splits and
 * initialisations, and the trainer's sampling; not cryptographic). Every generator of the project
 * is mulberry32 (Tommy Ettinger's constants), built from the two steps below, so a seed gives the
 * same uniform sequence wherever it is used.
 *
 * Why not tfjs's RNG: tfjs seeds each random op separately and its unseeded ops draw from a global
 * generator whose state depends on every other random op the process ran before. A generator
 * driven only by the caller's seed gives the same numbers on every backend and in every process.
 */

/** mulberry32's state transition: the next 32-bit state after `state`. */
export function mulberry32Advance(state: number): number {
  return (state + 0x6d2b79f5) >>> 0;
}

/** mulberry32's output for an (already advanced) 32-bit state: uniform in [0, 1), 2^-32 resolution. */
export function mulberry32Output(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A uniform [0, 1) generator from a 32-bit seed (mulberry32; the seed is taken modulo 2^32). */
export function uniformRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = mulberry32Advance(a);
    return mulberry32Output(a);
  };
}

/** A standard normal generator (Box-Muller on {@link uniformRng}). */
export function normalRng(seed: number): () => number {
  const u = uniformRng(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

/** Fill `out` with standard normal values from `rng`; returns `out`. */
export function fillNormal(out: Float32Array, rng: () => number): Float32Array {
  for (let k = 0; k < out.length; k++) out[k] = rng();
  return out;
}
