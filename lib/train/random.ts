/**
 * A seeded random generator whose whole state is one 32-bit integer, so a training run can save
 * it in its checkpoint and `--resume` continues with exactly the draws it would have made.
 *
 * Why not tfjs's RNG: tfjs's unseeded ops draw from a global generator whose state cannot be
 * saved, and its seeded ops reseed per call. Initialisation and batch sampling here are done in
 * plain JavaScript, driven only by the seed, so a run is the same on every backend.
 */
import { mulberry32Advance, mulberry32Output } from "../numerics/random";

/**
 * mulberry32 (lib/numerics/random.ts) as an object whose state can be read and restored: uniform
 * floats in [0, 1) with 2^-32 resolution; the same sequence as `uniformRng(seed)`.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Rng: 'seed' expected an integer, got ${seed}`);
    this.s = seed >>> 0;
  }

  /** The generator's state; `Rng.fromState(rng.state)` continues the same sequence. */
  get state(): number {
    return this.s;
  }

  static fromState(state: number): Rng {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
      throw new Error(`Rng.fromState: expected a uint32, got ${state}`);
    }
    const r = new Rng(0);
    r.s = state;
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = mulberry32Advance(this.s);
    return mulberry32Output(this.s);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box-Muller; one of the pair is discarded to keep the state simple). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `count` draws from N(0, std^2). */
  normalArray(count: number, std: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.normal() * std;
    return out;
  }
}
