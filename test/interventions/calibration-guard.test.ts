/**
 * Issue 20 low item: eval refuses text a pruned model was calibrated on, however it is spelled
 * (another working directory, a symlink) and for every prune in the folder's history
 * (linearity_prune.previous), not only the last.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { evaluateModel } from "../../lib/interventions/evaluate";
import { prune } from "../../lib/interventions/prune";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";

let tmp: string;
let model: string;
const cwd = process.cwd();
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "linearity-calib-guard-")));
  model = writeTinyCheckpoint(path.join(tmp, "model"), tinyHfConfig("llama", { n_layers: 3, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }), 4);
  fs.writeFileSync(path.join(tmp, "first.txt"), "The first calibration text, used by the first prune only. ".repeat(30));
  fs.writeFileSync(path.join(tmp, "second.txt"), "Another text entirely, which the second prune calibrates on. ".repeat(30));
  fs.symlinkSync(path.join(tmp, "first.txt"), path.join(tmp, "first-link.txt"));
});
afterAll(() => {
  process.chdir(cwd);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("eval's calibration-text guard", () => {
  it("a relative calibration path, a symlink to it, and an earlier prune's text are all refused", async () => {
    process.chdir(tmp); // prune is given a relative path, as a user in that folder would
    try {
      await prune({ model, blocks: 1, select: "bi", replace: "linear", calibrate: "first.txt", calibrateTokens: 256, seqLen: 64, out: path.join(tmp, "once") });
    } finally {
      process.chdir(cwd);
    }
    const once = path.join(tmp, "once");
    const evalOn = (m: string, text: string) => evaluateModel({ model: m, text, maxTokens: 128, seqLen: 64 });
    await expect(evalOn(once, path.join(tmp, "first.txt"))).rejects.toThrow(`overlaps the text ${path.join(tmp, "first.txt")} this model's replacements were fitted on`);
    await expect(evalOn(once, path.join(tmp, "first-link.txt"))).rejects.toThrow("overlaps the text");
    await evalOn(once, path.join(tmp, "second.txt"));

    await prune({ model: once, blocks: 1, select: "bi", replace: "linear", calibrate: path.join(tmp, "second.txt"), calibrateTokens: 256, seqLen: 64, out: path.join(tmp, "twice") });
    const twice = path.join(tmp, "twice");
    await expect(evalOn(twice, path.join(tmp, "second.txt"))).rejects.toThrow("overlaps the text");
    await expect(evalOn(twice, path.join(tmp, "first-link.txt"))).rejects.toThrow(`overlaps the text ${path.join(tmp, "first.txt")}`);
    const r = await evalOn(twice, "corpus:brown:heldout");
    expect(Number.isFinite(r.natsPerToken)).toBe(true);
  });
});
