/**
 * scripts/slurm/ without Slurm: the array script run as 3 local processes at once, each told its
 * task as Slurm would (SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT), then the merge script. The
 * shard datasets must be the single-machine run byte for byte and the merged numbers within 1e-9
 * (test/cluster/study.ts); a merge with a shard missing must fail and name it. Runs everywhere.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { SCRIPTS, SHARDS, expectSameAsSingle, shardDirs, singleRun, studyEnv, writeWrapper } from "./study";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "local-shards-"));
const out = path.join(tmp, "study");
let env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  await initBackend({ quiet: true });
  // Not the SLURM_* of a job this test may run in: the tasks are told only what Slurm would tell them.
  const outside = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SLURM_")));
  env = { ...outside, ...studyEnv(out, writeWrapper(tmp)), SHARDS: String(SHARDS) };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function runScript(script: string, extra: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn("bash", [path.join(SCRIPTS, script)], { env: { ...env, ...extra }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, output })));
}

describe("scripts/slurm as local processes", () => {
  it("3 extract tasks at once, then the merge: the single run's sequences byte for byte, its numbers within 1e-9", async () => {
    const [tasks, single] = await Promise.all([
      Promise.all(
        Array.from({ length: SHARDS }, (_, i) => runScript("extract.sbatch", { SLURM_ARRAY_TASK_ID: String(i), SLURM_ARRAY_TASK_COUNT: String(SHARDS) })),
      ),
      singleRun(path.join(tmp, "single")),
    ]);
    tasks.forEach((t, i) => expect(t.code, `task ${i}: ${t.output}`).toBe(0));
    tasks.forEach((t, i) => expect(t.output).toContain(`shard ${i}/${SHARDS} (sequences `));
    tasks.forEach((t) => expect(t.output).toContain("1 CPUs, default memory budget")); // no Slurm allocation to size it
    const merge = await runScript("merge.sbatch", {});
    expect(merge.code, merge.output).toBe(0);
    await expectSameAsSingle(out, single, env);
  }, 120_000);

  it("the merge refuses a missing or repeated shard by name and writes nothing", async () => {
    const moments = (i: number): string => path.join(out, "moments", `shard-${i}-of-${SHARDS}.safetensors`);
    fs.renameSync(moments(1), `${moments(1)}.away`);
    for (const f of ["scores.json", "moments.safetensors", "inspect.json"]) fs.rmSync(path.join(out, f));
    try {
      const missing = await runScript("merge.sbatch", {});
      expect(missing.code).not.toBe(0);
      expect(missing.output).toContain(`linearity: ${moments(1)}: no such file`);
      fs.copyFileSync(moments(0), moments(1)); // shard 0's moments under shard 1's name
      const twice = await runScript("merge.sbatch", {});
      expect(twice.code).not.toBe(0);
      expect(twice.output).toContain(`linearity: shard 0/3 is in both ${moments(0)} and ${moments(1)}; merge each shard once`);
      for (const f of ["scores.json", "moments.safetensors"]) expect(fs.existsSync(path.join(out, f))).toBe(false);
    } finally {
      fs.renameSync(`${moments(1)}.away`, moments(1));
    }
    // The shard datasets read as one refuse a gap the same way.
    const [, second] = shardDirs(out);
    fs.renameSync(second, `${second}.away`);
    try {
      const gap = await runScript("merge.sbatch", { INSPECT: "1" });
      expect(gap.code).not.toBe(0);
      expect(gap.output).toContain(`linearity: ${second}: no such folder (a shard dataset not written yet? rerun its task)`);
      expect(fs.existsSync(path.join(out, "inspect.json"))).toBe(false);
      expect(fs.readdirSync(out).filter((f) => f.startsWith(".inspect.json.tmp"))).toEqual([]); // no half-written file
    } finally {
      fs.renameSync(`${second}.away`, second);
    }
  }, 90_000);

  it("a task outside an array stops with a message", () => {
    const r = spawnSync("bash", [path.join(SCRIPTS, "extract.sbatch")], { env: { ...env, SLURM_ARRAY_TASK_ID: "" }, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("not an array task");
  });
});
