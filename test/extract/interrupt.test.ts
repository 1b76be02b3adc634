/**
 * A real process, really interrupted: `linearity extract` is killed (SIGKILL, no chance to clean
 * up) or stopped with SIGINT while it writes, then the same extraction continues in-process. The
 * result must equal, file for file, an extraction that was never interrupted.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { extract } from "../../lib/extract/extract";
import { tinyHfConfig, writeTinyCheckpoint } from "./tiny";
import { snapshot } from "./snapshot";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "interrupt-"));
let model = "";
let text = "";
const settings = { seqLen: 8, batchSize: 1 };

beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("llama", { n_layers: 2, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 16, bos: 256 }));
  text = path.join(tmp, "t.txt");
  fs.writeFileSync(text, "Interrupt me, then carry on where I stopped. ".repeat(8)); // 52 sequences
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function startCli(out: string, env: Record<string, string> = {}, textFile = text): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "cli-entry.ts"), "extract", "--model", model, "--text", textFile, "--out", out,
      "--seq-len", String(settings.seqLen), "--batch-size", String(settings.batchSize)],
    // LINEARITY_NATIVE=0: the CLI's forward passes on wasm's matmul, as this process's extract()
    // computes them, so that the datasets can be compared byte for byte (the native BLAS rounds
    // differently; test/native/extract-native.test.ts compares the two within tolerance).
    { env: { ...process.env, LINEARITY_QUIET: "1", LINEARITY_TEST_APPEND_DELAY_MS: "60", LINEARITY_NATIVE: "0", ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** Wait until the dataset at `out` has committed at least `n` samples. */
async function waitForSamples(out: string, n: number): Promise<void> {
  const manifest = path.join(out, "manifest.json");
  for (let i = 0; i < 600; i++) {
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, "utf8")).n_samples >= n) return;
      } catch {
        // replaced atomically, so this should not happen; retry anyway
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${n} samples in ${out} after 30 s`);
}

describe("interrupting a real extraction process", () => {
  it("survives SIGKILL mid-run and SIGINT, and ends identical to an uninterrupted run", async () => {
    const whole = path.join(tmp, "whole");
    const full = await extract({ model, text, out: whole, ...settings });
    expect(full.complete).toBe(true);

    const out = path.join(tmp, "parts");
    // 1. SIGKILL while shards are being written.
    const killed = startCli(out);
    await waitForSamples(out, 3);
    killed.child.kill("SIGKILL");
    const k = await killed.done;
    expect(k.signal).toBe("SIGKILL");
    const afterKill = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
    expect(afterKill.complete).toBe(false);
    expect(afterKill.n_samples).toBeLessThan(full.samples);

    // 2. Resume in a new process and stop it with SIGINT (Ctrl-C): it finishes the batch, says so,
    // and exits 130 (128 + SIGINT) so that scripts can tell a stop from a finished extraction.
    const stopped = startCli(out);
    await waitForSamples(out, afterKill.n_samples + 3);
    stopped.child.kill("SIGINT");
    const s = await stopped.done;
    expect(s.code).toBe(130);
    expect(s.stdout).toMatch(/stopped early; run the same command again to continue\n$/);
    expect(s.stderr).toContain("stopping after the current batch");

    // 3. Finish in-process.
    const rest = await extract({ model, text, out, ...settings });
    expect(rest.complete).toBe(true);
    expect(snapshot(out)).toEqual(snapshot(whole));
  });
});

describe("signals and kills at the edges", () => {
  it("a kill during the very first manifest write leaves a folder the next run cleans up and resumes", async () => {
    const out = path.join(tmp, "first-manifest");
    const short = path.join(tmp, "short.txt");
    fs.writeFileSync(short, "Killed before it began. "); // 4 sequences
    const killed = startCli(out, { LINEARITY_TEST_KILL_AT_COMMIT: "manifest.json:1" }, short);
    const k = await killed.done;
    expect(k.signal).toBe("SIGKILL");
    const left = fs.readdirSync(out);
    expect(left.some((n) => n.startsWith(".manifest.json.tmp-"))).toBe(true);
    expect(left).not.toContain("manifest.json");
    const rest = await extract({ model, text: short, out, ...settings });
    expect(rest.complete).toBe(true);
    expect(fs.readdirSync(out).filter((n) => n.startsWith("."))).toEqual([]);
    const whole = path.join(tmp, "short-whole");
    await extract({ model, text: short, out: whole, ...settings });
    expect(snapshot(out)).toEqual(snapshot(whole));
  });

  it("Ctrl-C before the first batch is a stop (130), not 'gives no tokens'; SIGTERM stops gracefully with 143", async () => {
    const out = path.join(tmp, "early-stop");
    const early = await startCli(out, { LINEARITY_TEST_SIGNAL_AFTER_OPEN: "SIGINT" }).done;
    expect(early.stderr).not.toContain("gives no tokens");
    expect(early.stdout).toMatch(/0 sequences, 0 tokens .*stopped early; run the same command again to continue\n$/);
    expect(early.code).toBe(130);

    const term = startCli(out);
    await waitForSamples(out, 2);
    term.child.kill("SIGTERM");
    const t = await term.done;
    expect(t.code).toBe(143);
    expect(t.stderr).toContain("stopping after the current batch");
    expect(t.stdout).toMatch(/stopped early; run the same command again to continue\n$/);
    const m = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
    expect(m.n_samples).toBeGreaterThanOrEqual(2);
    expect(m.complete).toBe(false);
  });
});
