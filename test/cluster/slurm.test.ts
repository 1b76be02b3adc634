/**
 * scripts/slurm/ on a real Slurm: a one-node cluster (test/cluster/one-node-slurm.ts) runs
 * submit.sh's array of 3 extraction tasks over the shipped model with one task made to fail
 * (leaving the lock of a task killed on another node), so the merge job (--dependency=afterok) is
 * cancelled; rerun.sh refuses while the study's jobs are queued, then removes the stale lock and
 * re-runs that task alone and a new merge. The shard datasets must be the single-machine run byte for byte and the merged
 * numbers within 1e-9 (test/cluster/study.ts); afterwards no daemon is left. Skipped, with a
 * notice, where Slurm, munge or root is missing (.ci/run installs slurm-wlm and munge).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { OneNodeSlurm, slurmUnavailable } from "./one-node-slurm";
import { REPO, SCRIPTS, SHARDS, expectSameAsSingle, shardDirs, singleRun, studyEnv, writeWrapper } from "./study";

const unavailable = slurmUnavailable();
if (unavailable) console.warn(`test/cluster/slurm.test.ts: SKIPPED, ${unavailable}`);

/** sbatch options that fit the test node, for the extraction tasks and the merge job. */
const TASK_OPTIONS = ["--cpus-per-task=1", "--mem=1G", "--time=10"];
const MERGE_OPTIONS = "--cpus-per-task=1 --mem=1G --time=10";
/** How long the jobs may take on a loaded 2-core machine (they take seconds on a quiet one). */
const JOB_SECONDS = 150;

describe.skipIf(unavailable !== undefined)("scripts/slurm on a one-node Slurm cluster", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "slurm-study-"));
  const out = path.join(tmp, "study");
  let cluster: OneNodeSlurm | undefined;
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    await initBackend({ quiet: true });
    cluster = await OneNodeSlurm.start();
    env = { ...studyEnv(out, writeWrapper(tmp)), MERGE_SBATCH_ARGS: MERGE_OPTIONS };
  }, 60_000);
  afterAll(async () => {
    const started = cluster;
    await cluster?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(started?.running() ?? []).toEqual([]); // no daemon left behind
  }, 60_000);

  /** Parse submit.sh / rerun.sh output: "array 12", "merge 13". */
  const ids = (stdout: string): Record<string, string> =>
    Object.fromEntries([...stdout.matchAll(/^(array|merge) (\d+)/gm)].map((m) => [m[1], m[2]]));

  it("a failed task cancels the merge; rerun.sh re-runs it alone; the result is the single run's", async () => {
    const c = cluster!;
    const single = singleRun(path.join(tmp, "single")); // meanwhile, in this process
    const first = ids(c.run(path.join(SCRIPTS, "submit.sh"), [String(SHARDS), ...TASK_OPTIONS], true, { ...env, FAIL_SHARD: "1" }, REPO).stdout);
    expect(Object.keys(first).sort()).toEqual(["array", "merge"]);
    // While the study's jobs are queued or running, rerun.sh refuses (the merge waits on the array).
    expect(() => c.run(path.join(SCRIPTS, "rerun.sh"), [String(SHARDS)], true, env, REPO)).toThrow(
      "rerun.sh: jobs of this study are still queued or running",
    );
    const records = await c.waitFor([first.array, first.merge], JOB_SECONDS);
    const state = (id: string): string | undefined => records.find((r) => r.id === id)?.state;
    expect(state(`${first.array}_0`)).toBe("COMPLETED");
    expect(state(`${first.array}_1`)).toBe("FAILED");
    expect(state(`${first.array}_2`)).toBe("COMPLETED");
    expect(state(first.merge)).toBe("CANCELLED"); // afterok can never be met
    expect(fs.readFileSync(path.join(out, "logs", `extract-${first.array}_1.out`), "utf8")).toContain("injected failure of task 1");
    expect(fs.existsSync(shardDirs(out)[1])).toBe(false);
    expect(fs.existsSync(path.join(out, "scores.json"))).toBe(false);

    const again = c.run(path.join(SCRIPTS, "rerun.sh"), [String(SHARDS), ...TASK_OPTIONS], true, env, REPO).stdout;
    expect(again).toMatch(/^array \d+ \(shards 1 of 3\)$/m);
    expect(again).toContain(`removing the stale lock ${path.join(out, ".shard-1-of-3.lock")}: {"pid":4242,"host":"a-node-that-died"`);
    const second = ids(again);
    const rerun = await c.waitFor([second.array, second.merge], JOB_SECONDS);
    expect(rerun.map((r) => r.state)).toEqual(["COMPLETED", "COMPLETED"]);
    expect(fs.readFileSync(path.join(out, "logs", `extract-${second.array}_1.out`), "utf8")).toMatch(/linearity shard 1\/3 on \S+, 1 CPUs, 768M memory budget/); // 3/4 of --mem=1G
    await expectSameAsSingle(out, await single, { ...process.env, ...env });

    // Everything complete: rerun.sh submits only the merge.
    const last = c.run(path.join(SCRIPTS, "rerun.sh"), [String(SHARDS)], true, env, REPO).stdout;
    expect(last).toMatch(/^every shard is complete\nmerge \d+$/m);
    c.run("scancel", [ids(last).merge]); // not needed: the merge above has run
  }, 2 * JOB_SECONDS * 1000 + 60_000);
});
