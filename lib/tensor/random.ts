/** Seeded pseudo-random numbers (reproducible baselines and benchmarks; not cryptographic). */

/** A uniform [0, 1) generator from a 32-bit seed (mulberry32). */
export function uniformRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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
