/**
 * The small sharded study the cluster tests run through scripts/slurm/ (on a real Slurm, or as
 * local processes), and its comparison with the single-machine run: the shipped model over
 * held-out Brown, 3 shards. The scripts call the CLI through a wrapper that runs it (from dist/
 * when that build is current, else from the TypeScript sources) on wasm's matmul
 * (LINEARITY_NATIVE=0), as the in-process single run computes, so the stored states must agree
 * byte for byte; the merged scores (from moments files) must agree within 1e-9.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { extract } from "../../lib/extract/extract";
import { spawnSync } from "node:child_process";

export const REPO = path.resolve(__dirname, "../..");
export const SCRIPTS = path.join(REPO, "scripts", "slurm");
export const SHARDS = 3;
const MODEL = path.join(REPO, "data-samples", "model");
const TEXT = "corpus:brown:heldout";
const SETTINGS = { maxTokens: 960, seqLen: 64, spread: true }; // 16 sequences
const EXTRACT_ARGS = `--max-tokens ${SETTINGS.maxTokens} --seq-len ${SETTINGS.seqLen} --spread --workers 1`;
/** The intrinsic dimension is off: it is neither a sum nor what the merge is about. */
const INSPECT_ARGS = "--no-intrinsic-dim";
/** The merge job's scores: with cv and the jackknife, which depend on the documents' units. */
const SCORE_ARGS = "--folds 4 --jackknife";

/**
 * Whether dist/ holds a build of every lib/ source at least as new as the source: then the
 * scripts may run the built CLI (bin/linearity.js, quick to start) instead of the sources
 * through tsx (a few seconds of compiling per process). A stale build is never used.
 */
function distIsFresh(): boolean {
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  return walk(path.join(REPO, "lib"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .every((f) => {
      const built = path.join(REPO, "dist", path.relative(REPO, f)).replace(/\.ts$/, ".js");
      return fs.existsSync(built) && fs.statSync(built).mtimeMs >= fs.statSync(f).mtimeMs;
    });
}

/**
 * Write the `linearity` wrapper the scripts call (LINEARITY=...): the CLI from the sources. With
 * FAIL_SHARD=I in its environment, array task I fails at once, leaving the lock of a task killed
 * on another node beside its shard (a test's injected failure).
 */
export function writeWrapper(dir: string): string {
  const file = path.join(dir, "linearity");
  fs.writeFileSync(
    file,
    [
      "#!/bin/bash",
      'if [ -n "${FAIL_SHARD:-}" ] && [ "${SLURM_ARRAY_TASK_ID:-}" = "$FAIL_SHARD" ]; then',
      '  echo \'{"pid":4242,"host":"a-node-that-died","command":"extract","started":"2026-01-01T00:00:00.000Z"}\' > "$OUT/.shard-$FAIL_SHARD-of-$SLURM_ARRAY_TASK_COUNT.lock"',
      '  echo "injected failure of task $FAIL_SHARD" >&2; exit 3',
      "fi",
      `cd ${JSON.stringify(REPO)}`,
      distIsFresh()
        ? `exec ${JSON.stringify(process.execPath)} bin/linearity.js "$@"`
        : `exec ${JSON.stringify(process.execPath)} --import tsx test/cli/run-cli.ts "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return file;
}

/** The environment scripts/slurm/*.sbatch read, for a study in `out`. */
export function studyEnv(out: string, linearity: string): NodeJS.ProcessEnv {
  return {
    MODEL, TEXT, OUT: out, EXTRACT_ARGS, INSPECT: "1", INSPECT_ARGS, SCORE_ARGS, LINEARITY: linearity,
    LINEARITY_NATIVE: "0", LINEARITY_QUIET: "1", LINEARITY_DEBUG: "",
  };
}

/** The folders the N tasks write. */
export function shardDirs(out: string): string[] {
  return Array.from({ length: SHARDS }, (_, i) => path.join(out, `shard-${i}-of-${SHARDS}`));
}

/** The same extraction on one machine, without --shard (in this process). */
export async function singleRun(out: string): Promise<string> {
  await extract({ model: MODEL, text: TEXT, out, ...SETTINGS });
  return out;
}

/**
 * Every number of `got` within `tol` of `want`'s (same structure; `skip` keys, such as file
 * names, are not compared). Returns how many numbers were compared.
 */
function expectClose(got: unknown, want: unknown, tol: number, at: string, skip: readonly string[]): number {
  if (typeof want === "number") {
    expect(typeof got, at).toBe("number");
    expect(Math.abs((got as number) - want), `${at}: ${got} vs ${want}`).toBeLessThanOrEqual(tol);
    return 1;
  }
  if (Array.isArray(want)) {
    expect(Array.isArray(got) && got.length === want.length, at).toBe(true);
    return want.reduce((n: number, w, k) => n + expectClose((got as unknown[])[k], w, tol, `${at}[${k}]`, skip), 0);
  }
  if (typeof want === "object" && want !== null) {
    expect(Object.keys(got as object).sort(), at).toEqual(Object.keys(want).sort());
    return Object.entries(want)
      .filter(([k]) => !skip.includes(k))
      .reduce((n, [k, w]) => n + expectClose((got as Record<string, unknown>)[k], w, tol, `${at}.${k}`, skip), 0);
  }
  expect(got, at).toEqual(want);
  return 0;
}

/**
 * The shard datasets read as one must be the single run byte for byte (token ids, tags, texts,
 * every state's bytes); the merge job's scores from the merged moments (score, floor, adjusted,
 * cv, jackknife) and its inspect numbers must equal the single run's within 1e-9.
 */
export async function expectSameAsSingle(out: string, single: string, env: NodeJS.ProcessEnv): Promise<void> {
  // The reference numbers come from the same CLI under the same environment as the scripts' (the
  // float64 products' route, native BLAS or not, moves the precision cut of a degenerate state).
  const cli = (args: string[]): string => {
    const r = spawnSync(env.LINEARITY!, args, { env, encoding: "utf8" });
    expect(r.status, `linearity ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const whole = HiddenStateDataset.open(single);
  const joined = HiddenStateDataset.open(shardDirs(out));
  expect(whole.samples.length).toBeGreaterThanOrEqual(SHARDS * 3);
  expect(joined.nTokens).toBe(whole.nTokens);
  expect(joined.samples).toEqual(whole.samples);
  expect(Buffer.from(joined.tokenIds()!.buffer).equals(Buffer.from(whole.tokenIds()!.buffer))).toBe(true);
  expect(joined.tags()).toEqual(whole.tags());
  for (let b = 0; b < whole.nStates; b++) {
    expect(Buffer.from(joined.state(b).buffer).equals(Buffer.from(whole.state(b).buffer)), `state ${b}`).toBe(true);
  }
  // Scores from the merged moments against the single run's own moments file, scored alike.
  const refMoments = `${single}.moments.safetensors`;
  const refScores = `${single}.scores.json`;
  cli(["moments", single, "--out", refMoments, "--force"]);
  cli(["score", refMoments, ...SCORE_ARGS.split(" "), "--json", refScores, "--force"]);
  const scores = JSON.parse(fs.readFileSync(path.join(out, "scores.json"), "utf8"));
  const wanted = JSON.parse(fs.readFileSync(refScores, "utf8"));
  expect(wanted.pairs[0].plain.jackknife.groups).toBeGreaterThanOrEqual(SHARDS * 3); // units from documents of every shard
  expect(expectClose(scores, wanted, 1e-9, "scores.json", ["moments"])).toBeGreaterThan(wanted.pairs.length * 10);

  const merged = JSON.parse(fs.readFileSync(path.join(out, "inspect.json"), "utf8"));
  const ref = JSON.parse(cli(["inspect", single, "--json", ...INSPECT_ARGS.split(" ")]));
  expect(merged.n_tokens).toBe(ref.n_tokens);
  expect(merged.shard_datasets).toEqual(shardDirs(out));
  expect(merged.states.length).toBe(ref.states.length);
  // The nested linearityStats / residualStats (rank, cut, floor, adjusted) are left out: the rank
  // decision of directions at the float64 floor (state 0's repeated embedding rows) can flip with
  // summation order (17 on this toy) while the scores, compared here, agree within 1e-9.
  const compared = expectClose(merged.states, ref.states, 1e-9, "inspect.json states", ["linearityStats", "residualStats"]);
  expect(compared).toBeGreaterThan(ref.states.length * 4); // norms, cosines, both linearity scores, anisotropy
}
