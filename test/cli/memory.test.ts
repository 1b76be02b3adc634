/**
 * What the commands that run a model share about memory: the wasm runtime's out-of-memory
 * failures become one line; --memory is parsed, a budget too small for a block is refused in one
 * line, and the peak resident memory is printed at the end.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainOutOfMemory } from "../../lib/cli/memory";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";
import { initBackend } from "../../lib/backend";
import { spawnCli } from "./helpers";
import { openCheckpoint } from "../../lib/models/load";
import { planModel } from "../../lib/models/stream/plan";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-memory-"));
let model = "";
beforeAll(async () => {
  await initBackend({ quiet: true });
  model = writeTinyCheckpoint(path.join(tmp, "m"), tinyHfConfig("llama", { n_layers: 4, d_model: 64, n_heads: 4, d_vocab: 257, n_ctx: 32, bos: 256 }));
  fs.writeFileSync(path.join(tmp, "t.txt"), "A short text to evaluate, one more time. ".repeat(6));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnCli(args);
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

describe("out-of-memory messages", () => {
  it("wasm aborts and out-of-bounds accesses become one readable line", () => {
    for (const raw of ["Aborted(). Build with -sASSERTIONS for more info.", "memory access out of bounds", "WebAssembly.Memory.grow(): Maximum memory size exceeded", "Array buffer allocation failed"]) {
      const line = explainOutOfMemory(raw);
      expect(line).toMatch(/^the model ran out of memory \(.*\); use a smaller --batch-size or --seq-len, or a smaller --memory/);
      expect(line).not.toContain("-sASSERTIONS");
      expect(line).not.toContain("\n");
    }
  });
  it("other messages pass unchanged", () => expect(explainOutOfMemory("DIR: no such file")).toBe("DIR: no such file"));
});

describe("--memory on the command line", () => {
  it("eval streams under a small budget, prints the peak resident memory, and refuses a budget below one block", () => {
    const text = path.join(tmp, "t.txt");
    // One block and a few sequences' states: far less than the whole model needs.
    const budget = planModel(openCheckpoint(model), 2 ** 40, "streamed").weightPeak + 256 * 1024;
    expect(budget).toBeLessThan(planModel(openCheckpoint(model), 2 ** 40, "whole").weightPeak * 2);
    const ok = cli("eval", "--model", model, "--text", text, "--seq-len", "16", "--max-tokens", "64", "--memory", String(budget));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/peak resident memory: [\d.]+ (MiB|GiB) \(weights streamed block by block\)\n/);
    const whole = cli("eval", "--model", model, "--text", text, "--seq-len", "16", "--max-tokens", "64");
    expect(whole.stderr).toMatch(/peak resident memory: [\d.]+ (MiB|GiB) \(whole model resident\)\n/);
    expect(ok.stdout.trim().split("\n").pop()).toBe(whole.stdout.trim().split("\n").pop()); // same loss to 6 decimals
    const refused = cli("eval", "--model", model, "--text", text, "--memory", "1K");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^linearity: .*: block 0 \(model\.layers\.0, 9 tensors\) needs [\d.]+ KiB in float32 .* more than the memory budget of 1\.00 KiB \(--memory\)\n$/);
    const bad = cli("eval", "--model", model, "--memory", "lots");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--memory: expected a size such as 4G, 512M or 1\.5GiB, got 'lots'/);
  });
});
