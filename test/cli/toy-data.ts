/** Toy hidden states for the CLI tests and docs examples (no vitest import, so scripts can use it too). */
import { HiddenStateWriter } from "../../lib/dataset/writer";

/** Deterministic uniform numbers in [-1, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/**
 * States of a toy network: state 0 random, state b+1 = tanh(state_b W_b) + state_b (a residual
 * block), so consecutive states are related but not exactly linearly. Returns [state][token*d+j].
 */
export function toyStates(nStates: number, tokens: number, d: number, seed = 7): Float32Array[] {
  const r = rng(seed);
  const states: Float32Array[] = [Float32Array.from({ length: tokens * d }, () => r() * 2)];
  for (let b = 1; b < nStates; b++) {
    const W = Array.from({ length: d * d }, () => r() * 1.5);
    const prev = states[b - 1];
    const next = new Float32Array(tokens * d);
    for (let t = 0; t < tokens; t++) {
      for (let j = 0; j < d; j++) {
        let z = 0;
        for (let k = 0; k < d; k++) z += prev[t * d + k] * W[k * d + j];
        next[t * d + j] = Math.tanh(z) + prev[t * d + j];
      }
    }
    states.push(next);
  }
  return states;
}

/** Write toy states as a dataset with the given sample lengths, two samples per shard. */
export function writeToyDataset(dir: string, nStates: number, lengths: number[], d: number): Float32Array[] {
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const states = toyStates(nStates, tokens, d);
  const w = HiddenStateWriter.open(dir, { model: { name: "toy", family: "llama", n_layers: nStates - 1, d_model: d }, dtype: "float32" });
  let t = 0;
  for (let s = 0; s < lengths.length; s += 2) {
    const group = lengths.slice(s, s + 2);
    const n = group.reduce((a, b) => a + b, 0);
    const samples = group.map((len, k) => ({
      tokenIds: Int32Array.from({ length: len }, (_, i) => 1000 + t + (k > 0 ? group[0] : 0) + i),
    }));
    w.append(samples, states.map((st) => st.slice(t * d, (t + n) * d)));
    t += n;
  }
  w.finish();
  return states;
}
