import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../../lib/backend";
import { writeNpy } from "../../lib/io/npy";
import {
  referenceMeanCosine,
  referenceMeanNorm,
  referenceResidualScore,
  referenceScore,
  runInProcess,
  spawnCli,
  tempDir,
  writeToyDataset,
} from "./helpers";
import { refAnisotropy, refTwoNN, rowsOf } from "../metrics/reference";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const D = 5;
const S = 4;
const LENGTHS = [30, 25, 40, 17, 33]; // 145 tokens in 3 shards
const N = LENGTHS.reduce((a, b) => a + b, 0);
const ds = path.join(root, "ds");
let states: Float32Array[];

beforeAll(async () => {
  process.env.LINEARITY_QUIET = "1";
  await initBackend();
  states = writeToyDataset(ds, S, LENGTHS, D);
});

interface JsonOut {
  n_tokens: number;
  tokens_used: number;
  n_states: number;
  states: { state: number; meanNorm: number; cosineNext?: number; linearityNext?: number; residualLinearityNext?: number; anisotropy?: number; intrinsicDimension?: number }[];
}

describe("linearity inspect", () => {
  it("--json: per-state mean norm, consecutive cosine and linearity match float64 references", async () => {
    const r = await runInProcess(["inspect", ds, "--json", "--rows", "16"]);
    expect(r.error).toBeUndefined();
    const out: JsonOut = JSON.parse(r.stdout);
    expect([out.n_tokens, out.tokens_used, out.n_states]).toEqual([N, N, S]);
    for (let b = 0; b < S; b++) {
      const s = out.states[b];
      expect(Math.abs(s.meanNorm - referenceMeanNorm(states[b], N, D))).toBeLessThan(1e-6);
      expect(Math.abs(s.anisotropy! - refAnisotropy(rowsOf(states[b], D)))).toBeLessThan(1e-6);
      expect(Math.abs(s.intrinsicDimension! - refTwoNN(rowsOf(states[b], D), 0.9).dimension)).toBeLessThan(1e-6);
      if (b === S - 1) {
        expect(s.cosineNext).toBeUndefined();
        expect(s.linearityNext).toBeUndefined();
        continue;
      }
      expect(Math.abs(s.cosineNext! - referenceMeanCosine(states[b], states[b + 1], N, D))).toBeLessThan(1e-6);
      expect(Math.abs(s.linearityNext! - referenceScore(states[b], states[b + 1], N, D, D))).toBeLessThan(1e-5);
      expect(Math.abs(s.residualLinearityNext! - referenceResidualScore(states[b], states[b + 1], N, D))).toBeLessThan(1e-5);
      // The same columns as 'linearity score': rank, cut, floor, adjusted (cv and jackknife only when asked for).
      const st = (s as unknown as { linearityStats: { score: number; rank: number; cut: { count: number }; floor: number; adjusted: number; cv: null } }).linearityStats;
      expect(st.score).toBe(s.linearityNext);
      expect(st.cut.count).toBe(D - st.rank);
      expect(st.floor).toBe(st.rank / (N - 1));
      expect(Math.abs(st.adjusted - (1 - ((1 - st.score) * (N - 1)) / (N - st.rank - 1)))).toBeLessThan(1e-15);
      expect(st.cv).toBeNull();
    }
  });

  it("--folds and --jackknife add the out-of-sample score and the interval per pair, as 'linearity score' of the moments", async () => {
    const r = await runInProcess(["inspect", ds, "--json", "--folds", "2", "--jackknife", "--units", "0", "--no-anisotropy", "--no-intrinsic-dim"]);
    expect(r.error).toBeUndefined();
    const out = JSON.parse(r.stdout) as { groups: { from: string; count: number }; states: { linearityStats?: { cv: number; score: number; jackknife: { groups: number; se: number } } }[] };
    expect(out.groups.count).toBeGreaterThan(1);
    const st = out.states[0].linearityStats!;
    expect(st.cv).toBeLessThan(st.score + 1e-12);
    expect(st.jackknife.groups).toBe(out.groups.count);
    expect(st.jackknife.se).toBeGreaterThan(0);
    const text = (await runInProcess(["inspect", ds, "--folds", "2", "--no-anisotropy", "--no-intrinsic-dim"])).stdout;
    expect(text).toMatch(/groups: \d+ (documents|sequences) in units by group mod 2/);
    expect(text).toMatch(/rank\s+cut\s+floor\s+adjusted\s+cv\s+w\/o residual\s+adjusted\s+cv/);
  });

  it("--max-tokens uses a prefix; --no-linearity skips the scores; --id-max-tokens and --keep-fraction reach TwoNN", async () => {
    const r = await runInProcess(["inspect", ds, "--json", "--max-tokens", "60", "--no-linearity", "--id-max-tokens", "50", "--keep-fraction", "0.2"]);
    const out: JsonOut = JSON.parse(r.stdout);
    expect(out.tokens_used).toBe(60);
    const prefix = (b: number) => states[b].slice(0, 60 * D);
    expect(Math.abs(out.states[1].meanNorm - referenceMeanNorm(prefix(1), 60, D))).toBeLessThan(1e-6);
    expect(Math.abs(out.states[1].cosineNext! - referenceMeanCosine(prefix(1), prefix(2), 60, D))).toBeLessThan(1e-6);
    expect(out.states[0].linearityNext).toBeUndefined();
    const first50 = rowsOf(states[2].slice(0, 50 * D), D);
    expect(Math.abs(out.states[2].intrinsicDimension! - refTwoNN(first50, 0.2).dimension)).toBeLessThan(1e-6);
    expect(Math.abs(out.states[2].anisotropy! - refAnisotropy(rowsOf(prefix(2), D)))).toBeLessThan(1e-6);
    const skip = JSON.parse((await runInProcess(["inspect", ds, "--json", "--no-anisotropy", "--no-intrinsic-dim", "--no-linearity"])).stdout) as JsonOut;
    expect(skip.states[1].anisotropy).toBeUndefined();
    expect(skip.states[1].intrinsicDimension).toBeUndefined();
  });

  it("prints a summary and an aligned table", async () => {
    const r = await runInProcess(["inspect", ds]);
    const lines = r.stdout.split("\n");
    expect(lines).toContain("model     : toy (llama)");
    expect(lines).toContain("n_layers  : 3 (n_states = 4)");
    expect(lines).toContain(`tokens    : ${N}`);
    expect(lines).toContain("complete  : yes");
    expect(lines).toContain("shards    : 3");
    const head = lines.findIndex((l) => l.startsWith("state"));
    expect(lines[head].split(/\s+/)).toEqual(["state", "mean_norm", "cos(b,b+1)", "linearity(b->b+1)", "rank", "cut", "floor", "adjusted", "w/o", "residual", "adjusted", "anisotropy", "intrinsic_dim"]);
    const row0 = lines[head + 1].trim().split(/\s+/);
    expect(row0[0]).toBe("0");
    expect(Math.abs(Number(row0[1]) - referenceMeanNorm(states[0], N, D))).toBeLessThan(1e-4);
    expect(Math.abs(Number(row0[3]) - referenceScore(states[0], states[1], N, D, D))).toBeLessThan(1e-4);
    expect(lines[head + S].trim().split(/\s+/).slice(2, 5)).toEqual(["-", "-", "-"]);
    expect(Math.abs(Number(row0[10]) - refAnisotropy(rowsOf(states[0], D)))).toBeLessThan(1e-4);
  });

  it("reads the original block layout and an interrupted dataset with no tokens", async () => {
    const orig = path.join(root, "orig");
    for (let b = 0; b < 3; b++) {
      fs.mkdirSync(path.join(orig, `block${b}`), { recursive: true });
      writeNpy(path.join(orig, `block${b}`, "s0.npy"), { dtype: "float32", shape: [N, D], data: states[b] });
    }
    const r = await runInProcess(["inspect", orig, "--json"]);
    const out: JsonOut = JSON.parse(r.stdout);
    expect(out.n_states).toBe(3);
    expect(Math.abs(out.states[1].linearityNext! - referenceScore(states[1], states[2], N, D, D))).toBeLessThan(1e-5);
    const { HiddenStateWriter } = await import("../../lib/dataset/writer");
    const empty = path.join(root, "empty");
    HiddenStateWriter.open(empty, { model: { name: "m", family: "gpt2", n_layers: 2, d_model: 4 }, dtype: "float16" });
    const e = await runInProcess(["inspect", empty]);
    expect(e.stdout).toContain("complete  : no (writer interrupted or still running; resumable)");
    expect(e.stdout).toContain("(no tokens committed yet)");
  });

  it("an undefined metric shows as 'undefined (reason)' in its own cell; the other metrics are computed, exit status 0", () => {
    // state 0: the smallest TwoNN case with every mu = 1; state 2: every row the same (no variance).
    const und = path.join(root, "undefined");
    const blocks = [
      [0, 0, 0, 0, 1, 0, 0, 2, -3, 0],
      [0.5, 1, -2, 0.25, 1.5, -1, 3, 2, -0.5, 4],
      [1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
    ];
    blocks.forEach((rows, b) => {
      fs.mkdirSync(path.join(und, `block${b}`), { recursive: true });
      writeNpy(path.join(und, `block${b}`, "s0.npy"), { dtype: "float32", shape: [5, 2], data: Float32Array.from(rows) });
    });
    const r = spawnCli(["inspect", und]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const head = lines.findIndex((l) => l.startsWith("state"));
    expect(lines[head + 1]).toMatch(/^\s*0\s+\S+\s+\S+\s+\d\.\d{4}\s+\d+\s+\d+\s+\d\.\d{4}\s+-?\d\.\d{4}\s+\d\.\d{4}\s+-?\d\.\d{4}\s+\d\.\d{4}\s+undefined \(every mu = 1\)$/);
    expect(lines[head + 2]).toMatch(/undefined \(state 2 has no variance\)\s+-\s+-\s+-\s+-\s+undefined \(state 2 has no variance\)\s+-\s+\d\.\d{4}\s+\d\.\d{2}$/);
    expect(lines[head + 3]).toMatch(/-\s+-\s+-\s+undefined \(no variance\)\s+undefined \(0 points to fit, needs 2\)$/);
    const j = spawnCli(["inspect", und, "--json"]);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout) as JsonOut & { states: { undefinedReasons?: Record<string, string> }[] };
    expect(out.states[0].intrinsicDimension).toBeNull();
    expect(out.states[0].undefinedReasons).toEqual({ intrinsicDimension: "every mu = 1" });
    expect(Math.abs(out.states[0].linearityNext! - referenceScore(Float32Array.from(blocks[0]), Float32Array.from(blocks[1]), 5, 2, 2))).toBeLessThan(1e-6);
    expect(out.states[1].undefinedReasons).toEqual({ linearityNext: "state 2 has no variance", residualLinearityNext: "state 2 has no variance" });
    expect(out.states[2].undefinedReasons).toEqual({ anisotropy: "no variance", intrinsicDimension: "0 points to fit, needs 2" });
    // LLM-Microscope's estimator: the same state is undefined for the same reason.
    const m = spawnCli(["inspect", und, "--estimator", "llm-microscope", "--no-linearity"]);
    expect(m.code).toBe(0);
    expect(m.stdout).toContain("undefined (every mu = 1)");
  });

  it.each([
    [["nowhere"], /nowhere: no such folder/],
    [["."], /not a hidden-state dataset \(no manifest\.json and no block0\/ folder\)/],
    [["DS", "--max-tokens", "x"], /--max-tokens must be a positive integer, got 'x'/],
    [["DS", "--keep-fraction", "1.5"], /--keep-fraction must be a number in \(0, 1\], got '1.5'/],
    [["DS", "--estimator", "skdim"], /--estimator must be one of standard, llm-microscope, got 'skdim'/],
  ])("rejects %j", async (args, msg) => {
    const full = args.map((a) => (a === "DS" ? ds : a === "nowhere" ? path.join(root, a) : a === "." ? root : a));
    expect((await runInProcess(["inspect", ...full])).error).toMatch(msg);
  });

  it("as a process: a corrupt shard is a one-line error, exit status 1", () => {
    const bad = path.join(root, "bad");
    fs.cpSync(ds, bad, { recursive: true });
    fs.truncateSync(path.join(bad, "shards/00001/state_02.npy"), 200);
    const r = spawnCli(["inspect", bad]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/^linearity: .*state_02\.npy: truncated \.npy data/);
  });
});
