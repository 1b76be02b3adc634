import { describe, expect, it } from "vitest";
import { normalRng, uniformRng } from "../../lib/numerics/random";
import { mulberry32 } from "../../lib/probes/random";
import { Rng } from "../../lib/train/random";

/**
 * mulberry32 written independently in BigInt arithmetic (exact products reduced mod 2^32, no
 * Math.imul, no >>> tricks), from the algorithm's definition.
 */
function referenceMulberry32(seed: number, count: number): number[] {
  const M = 1n << 32n;
  const mul = (a: bigint, b: bigint) => (a * b) % M;
  let state = BigInt(seed) % M;
  if (state < 0n) state += M;
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    state = (state + 0x6d2b79f5n) % M;
    let t = state;
    t = mul(t ^ (t >> 15n), t | 1n);
    t = t ^ ((t + mul(t ^ (t >> 7n), t | 61n)) % M);
    out.push(Number(t ^ (t >> 14n)) / 2 ** 32);
  }
  return out;
}

describe("the project's one generator (mulberry32)", () => {
  const seeds = [0, 1, 42, 123456789, 0xffffffff];

  it("uniformRng, probes' mulberry32 and train's Rng all give the reference sequence", () => {
    for (const seed of seeds) {
      const want = referenceMulberry32(seed, 200);
      const u = uniformRng(seed), m = mulberry32(seed), r = new Rng(seed);
      for (let k = 0; k < want.length; k++) {
        const [a, b, c] = [u(), m(), r.next()];
        expect(a).toBe(want[k]);
        expect(b).toBe(want[k]);
        expect(c).toBe(want[k]);
      }
    }
  });

  it("takes negative seeds modulo 2^32, as the reference does", () => {
    const u = uniformRng(-7);
    const want = referenceMulberry32(-7, 5);
    for (const w of want) expect(u()).toBe(w);
  });

  it("Rng.fromState continues the sequence where the state was read", () => {
    const r = new Rng(5);
    for (let k = 0; k < 10; k++) r.next();
    const resumed = Rng.fromState(r.state);
    const want = referenceMulberry32(5, 20).slice(10);
    for (const w of want) expect(resumed.next()).toBe(w);
  });

  it("normalRng is Box-Muller on the uniform sequence: pairs r cos(th), r sin(th)", () => {
    const n = normalRng(11);
    const u = referenceMulberry32(11, 8);
    for (let k = 0; k < 8; k += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u[k]));
      const th = 2 * Math.PI * u[k + 1];
      expect(Math.abs(n() - r * Math.cos(th))).toBeLessThan(1e-15);
      expect(Math.abs(n() - r * Math.sin(th))).toBeLessThan(1e-15);
    }
  });
});
