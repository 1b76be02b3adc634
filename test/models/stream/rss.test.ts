/**
 * Resident memory of a streamed run stays under its budget, measured from /proc in a child
 * process: VmHWM (peak) minus VmRSS once the backend is loaded (what Node, tfjs and the wasm
 * module cost before any model) must stay within the budget plus a stated allowance for Node
 * itself, NODE_ALLOWANCE: V8 frees the buffers a block was read into only when it next collects,
 * and the wasm heap grows in steps of up to 20% and never shrinks. The same extraction with the
 * whole model resident must exceed that bound by far, so the test can fail.
 *
 * The checkpoint: Llama layout, d_model 512, 12 blocks, bf16 (75 MB on disk, 151 MB of float32
 * weights), written one tensor at a time (lazy weights).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeHfConfig } from "../../../lib/models/config";
import { openCheckpoint } from "../../../lib/models/load";
import { modelFloat32Bytes } from "../../../lib/models/read";
import { FAMILIES } from "../../../lib/models/registry";
import { saveCheckpoint, type LazyWeight } from "../../../lib/models/save";
import { planModel } from "../../../lib/models/stream/plan";
import { tinyHfConfig } from "../../extract/tiny";

/** What Node may add beyond the budget (see the file comment). */
const NODE_ALLOWANCE = 160 * 2 ** 20;

const hasProc = fs.existsSync("/proc/self/status");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stream-rss-"));
const model = path.join(tmp, "m");
const text = path.join(tmp, "t.txt");

beforeAll(() => {
  const hf = tinyHfConfig("llama", { n_layers: 12, d_model: 512, n_heads: 8, d_vocab: 257, n_ctx: 64, bos: 256 });
  const tensors: Record<string, LazyWeight> = {};
  let seed = 1;
  for (const [name, shape] of FAMILIES.llama.weightSpec(normalizeHfConfig(hf)).required) {
    const n = shape.reduce((a, b) => a * b, 1);
    const s = seed++;
    // xorshift32 values in [-0.05, 0.05): deterministic, cheap, never all resident at once.
    tensors[name] = {
      shape: [...shape],
      read: () => {
        const a = new Float32Array(n);
        let x = (s * 2654435761) >>> 0 || 1;
        for (let i = 0; i < n; i++) {
          x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
          a[i] = (x / 4294967296 - 0.5) * 0.1;
        }
        return a;
      },
    };
  }
  saveCheckpoint(model, hf, tensors, "BF16");
  fs.writeFileSync(text, "Streaming keeps one block resident at a time. ".repeat(4));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(mode: "whole" | "streamed", memory: number): { base: number; peak: number; streamed: boolean; tokens: number } {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "rss-entry.ts"), model, text, path.join(tmp, `out-${mode}`), mode, String(memory)],
    { env: { ...process.env, LINEARITY_NATIVE: "0" } },
  ).toString();
  return JSON.parse(out.trim().split("\n").pop()!);
}

describe.skipIf(!hasProc)("resident memory of a streamed run", () => {
  it(`stays within its budget plus ${NODE_ALLOWANCE / 2 ** 20} MiB for Node; the whole model does not`, () => {
    const ck = openCheckpoint(model);
    const weights = modelFloat32Bytes(ck);
    // One block's need plus room for the states of a few sequences.
    const budget = planModel(ck, 2 ** 40, "streamed").weightPeak + 8 * 2 ** 20;
    expect(budget).toBeLessThan(weights / 4);
    const streamed = run("streamed", budget);
    const whole = run("whole", 2 ** 36);
    expect(streamed.streamed).toBe(true);
    expect(whole.streamed).toBe(false);
    expect(streamed.tokens).toBe(whole.tokens);
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    const used = { streamed: streamed.peak - streamed.base, whole: whole.peak - whole.base };
    process.stdout.write(`rss above base: streamed ${mib(used.streamed)} (budget ${mib(budget)}), whole ${mib(used.whole)} (weights ${mib(weights)})\n`);
    expect(used.streamed).toBeLessThanOrEqual(budget + NODE_ALLOWANCE);
    expect(used.whole).toBeGreaterThan(budget + NODE_ALLOWANCE + weights / 2);
  }, 300_000);
});
