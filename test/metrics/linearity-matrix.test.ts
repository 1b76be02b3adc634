import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { LinearityAccumulator, LinearityMatrixAccumulator, linearityMatrix } from "../../lib/metrics";
import type { StateChunk } from "../../lib/numerics";
import { Mat, asFloat32, flat, gaussianMatrix, matmul, refScore, sub } from "../numerics/reference";

const close = (a: number, b: number, tol: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

/** S states like a residual stream: each adds a random linear update plus a nonlinearity to the last. */
function states(S: number, n: number, d: number, seed: number): Mat[] {
  const out: Mat[] = [asFloat32(gaussianMatrix(n, d, seed))];
  for (let s = 1; s < S; s++) {
    const prev = out[s - 1];
    const upd = matmul(prev, gaussianMatrix(d, d, seed + 10 * s).map((r) => r.map((v) => 0.3 * v)));
    out.push(asFloat32(prev.map((r, i) => r.map((v, j) => v + upd[i][j] + 0.5 * Math.tanh(2 * upd[i][j] * upd[i][(j + 1) % d])))));
  }
  return out;
}

function* chunked(st: Mat[], rows: number): Generator<StateChunk> {
  const n = st[0].length;
  for (let r0 = 0; r0 < n; r0 += rows) {
    const part = st.map((m) => flat(m.slice(r0, r0 + rows)));
    yield { start: r0, rows: Math.min(rows, n - r0), states: part };
  }
}

beforeAll(async () => {
  await initBackend({ quiet: true });
});

describe("linearityMatrix", () => {
  const S = 4, n = 300, d = 8;
  const st = states(S, n, d, 5);

  it("matches the reference score for every pair i < j, NaN elsewhere", () => {
    const progress: number[] = [];
    const m = linearityMatrix(chunked(st, 70), { residual: true, onProgress: (r) => progress.push(r) });
    expect(m.nTokens).toBe(n);
    expect(progress[progress.length - 1]).toBe(n);
    for (let i = 0; i < S; i++) {
      for (let j = 0; j < S; j++) {
        if (j <= i) {
          expect(Number.isNaN(m.scores[i][j])).toBe(true);
          expect(Number.isNaN(m.residualScores![i][j])).toBe(true);
          continue;
        }
        close(m.scores[i][j], refScore(st[i], st[j]), 1e-5);
        close(m.residualScores![i][j], refScore(st[i], sub(st[j], st[i])), 1e-5);
      }
    }
    expect(m.ranks.slice(0, S - 1)).toEqual([d, d, d]);
    expect(Number.isNaN(m.ranks[S - 1])).toBe(true);
  });

  it("does not depend on chunk size and agrees with the pair accumulator", () => {
    const a = linearityMatrix(chunked(st, 1000));
    const b = linearityMatrix(chunked(st, 17), { blockRows: 50 });
    const pair = new LinearityAccumulator(d);
    for (const c of chunked(st, 33)) pair.add(c.states[1], c.states[3]);
    for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) close(a.scores[i][j], b.scores[i][j], 1e-6);
    close(pair.result().score, a.scores[1][3], 1e-6);
    expect(a.residualScores).toBeUndefined();
  });

  it("reports bad chunks: count, shape, NaN with the absolute row, empty input", () => {
    expect(() => linearityMatrix([])).toThrow("linearityMatrix: 'chunks' yielded no rows");
    expect(() => linearityMatrix([{ start: 0, rows: 2, states: [new Float32Array(8)] }])).toThrow(
      "linearityMatrix: expected at least 2 states per chunk, got 1",
    );
    const good = (rows: number) => ({ start: 0, rows, states: [new Float32Array(rows * 4), new Float32Array(rows * 4)] });
    expect(() => linearityMatrix([good(3), { start: 3, rows: 3, states: [new Float32Array(12), new Float32Array(12), new Float32Array(12)] }])).toThrow(
      "linearityMatrix: expected 2 states per chunk (as in the first), got 3",
    );
    expect(() => linearityMatrix([good(3), { start: 3, rows: 3, states: [new Float32Array(12), new Float32Array(11)] }])).toThrow(
      "linearityMatrix: 'states[1]' expected shape [rows=3, d_model=4], got 11 values",
    );
    expect(() => linearityMatrix([{ start: 0, rows: 3, states: [new Float32Array(10), new Float32Array(10)] }])).toThrow(
      "linearityMatrix: 'states[0]' expected shape [rows=3, d_model], got 10 values",
    );
    const bad = [...chunked(st, 100)];
    bad[2].states[1][5 * d + 6] = NaN;
    expect(() => linearityMatrix(bad)).toThrow("linearityMatrix: 'states[1]' has NaN at row 205, column 6");
    const flatState = st.map((m) => m.map((r) => r.slice()));
    flatState[2] = flatState[2].map(() => new Array(d).fill(1));
    expect(() => linearityMatrix(chunked(flatState, 100))).toThrow("linearityMatrix: 'states[2]' has no variance");
    expect(() => new LinearityMatrixAccumulator(1, 4)).toThrow("linearityMatrix: expected at least 2 states per chunk, got 1");
  });
});

describe("LinearityAccumulator", () => {
  it("streams a pair with different d_model and reports rank", () => {
    const x = asFloat32(gaussianMatrix(400, 6, 3));
    const y = asFloat32(matmul(x, gaussianMatrix(6, 3, 4)).map((r, i) => r.map((v) => v + Math.sin(i))));
    const acc = new LinearityAccumulator(6, 3);
    for (let r0 = 0; r0 < 400; r0 += 90) acc.add(flat(x.slice(r0, r0 + 90)), flat(y.slice(r0, r0 + 90)));
    const r = acc.result();
    close(r.score, refScore(x, y), 1e-5);
    expect(r.residualScore).toBeUndefined();
    expect(r.rank).toBe(6);
    expect(r.nTokens).toBe(400);
  });

  it("names arguments in chunk errors and refuses an empty result", () => {
    const acc = new LinearityAccumulator(4, 4);
    expect(() => acc.add(new Float32Array(7), new Float32Array(8))).toThrow(
      "LinearityAccumulator: 'x' expected shape [rows, d_model=4], got 7 values (not a whole number of rows)",
    );
    expect(() => acc.add(new Float32Array(8), new Float32Array(12))).toThrow(
      "LinearityAccumulator: 'y' expected shape [rows=2, d_model=4], got 12 values (3 rows)",
    );
    expect(() => acc.add(new Float32Array(8), new Float32Array(8), )).not.toThrow();
    expect(() => new LinearityAccumulator(4).result()).toThrow("LinearityAccumulator: no rows were given");
  });
});

describe("linearityMatrix: floors and adjusted scores beside every score", () => {
  it("floor = rank / (n - 1), adjusted = 1 - (1 - score)(n - 1)/(n - rank - 1), per source state", async () => {
    const { linearityMatrix: matrix } = await import("../../lib/metrics");
    const n = 400, d = 5, S = 3;
    let seed = 9;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
    const states = Array.from({ length: S }, () => Float32Array.from({ length: n * d }, rand));
    const m = matrix([{ start: 0, rows: n, states }], { residual: true });
    for (let i = 0; i < S - 1; i++) {
      expect(m.floors[i]).toBe(m.ranks[i] / (n - 1));
      for (let j = i + 1; j < S; j++) {
        expect(Math.abs(m.adjusted[i][j] - (1 - ((1 - m.scores[i][j]) * (n - 1)) / (n - m.ranks[i] - 1)))).toBeLessThan(1e-15);
        expect(Math.abs(m.residualAdjusted![i][j] - (1 - ((1 - m.residualScores![i][j]) * (n - 1)) / (n - m.ranks[i] - 1)))).toBeLessThan(1e-15);
      }
    }
    expect(Number.isNaN(m.floors[S - 1])).toBe(true);
    // Independent uniform states: scores near the floor, adjusted near 0.
    expect(Math.abs(m.adjusted[0][1])).toBeLessThan(0.03);
  });
});
