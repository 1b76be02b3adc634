/**
 * The small sharded study the cluster tests run through scripts/slurm/ (on a real Slurm, or as
 * local processes), and its comparison with the single-machine run: the shipped model over
 * held-out Brown, 3 shards. The scripts call the CLI through a wrapper that runs it from the
 * TypeScript sources on wasm's matmul (LINEARITY_NATIVE=0), as the in-process single run
 * computes, so the stored states must agree byte for byte.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { extract } from "../../lib/extract/extract";
import { runInProcess } from "../cli/helpers";

export const REPO = path.resolve(__dirname, "../..");
export const SCRIPTS = path.join(REPO, "scripts", "slurm");
export const SHARDS = 3;
const MODEL = path.join(REPO, "data-samples", "model");
const TEXT = "corpus:brown:heldout";
const SETTINGS = { maxTokens: 960, seqLen: 64, spread: true }; // 16 sequences
const EXTRACT_ARGS = `--max-tokens ${SETTINGS.maxTokens} --seq-len ${SETTINGS.seqLen} --spread --workers 1`;
/** The intrinsic dimension is off: it is neither a sum nor what the merge is about. */
const INSPECT_ARGS = "--no-intrinsic-dim";

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
      `exec ${JSON.stringify(process.execPath)} --import tsx test/cli/run-cli.ts "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return file;
}

/** The environment scripts/slurm/*.sbatch read, for a study in `out`. */
export function studyEnv(out: string, linearity: string): NodeJS.ProcessEnv {
  return {
    MODEL, TEXT, OUT: out, EXTRACT_ARGS, INSPECT_ARGS, LINEARITY: linearity,
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
 * The shard datasets read as one must be the single run byte for byte (token ids, tags, texts,
 * every state's bytes), and the merge job's numbers must equal the single run's within 1e-9.
 */
export async function expectSameAsSingle(out: string, single: string): Promise<void> {
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
  const merged = JSON.parse(fs.readFileSync(path.join(out, "inspect.json"), "utf8"));
  const reference = await runInProcess(["inspect", single, "--json", ...INSPECT_ARGS.split(" ")]);
  expect(reference.error).toBeUndefined();
  const ref = JSON.parse(reference.stdout);
  expect(merged.n_tokens).toBe(ref.n_tokens);
  expect(merged.shard_datasets).toEqual(shardDirs(out));
  expect(merged.states.length).toBe(ref.states.length);
  let compared = 0;
  ref.states.forEach((want: Record<string, number>, b: number) => {
    for (const [k, v] of Object.entries(want)) {
      expect(typeof merged.states[b][k], `state ${b} ${k}`).toBe(typeof v);
      expect(Math.abs(merged.states[b][k] - v), `state ${b} ${k}`).toBeLessThanOrEqual(1e-9);
      compared++;
    }
  });
  expect(compared).toBeGreaterThan(ref.states.length * 4); // norms, cosines, both linearity scores, anisotropy
}
