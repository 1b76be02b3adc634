/**
 * Reading the next block ahead (lib/models/stream/prefetch.ts): planned only where two blocks take
 * at most half the budget; a streamed model that reads ahead gives the whole model's states and
 * points bit for bit, forward after forward (the second forward's block 0 was read after the
 * first), holds exactly one block read ahead between forwards and nothing once disposed; a read
 * that fails names the file and tensor and frees what was read. The runs are skipped, with a
 * notice, where the addon has no background reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { nativeBlasStatus, nativeMemory } from "../../../lib/native";
import { openCheckpoint } from "../../../lib/models/load";
import { openLocalModel } from "../../../lib/models/open";
import { namesOfBlock } from "../../../lib/models/read";
import { oneBlockPeak, planModel } from "../../../lib/models/stream/plan";
import type { ForwardOutput } from "../../../lib/models/types";
import { tinyCheckpoints } from "../helpers";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

const runs = nativeMemory()?.readFloat32Start !== undefined;
if (!runs) console.warn(`test/models/stream/prefetch.test.ts: runs SKIPPED, ${nativeBlasStatus()}`);

const VARIANTS = ["llama-gqa-bf16", "llama-gqa-f16", "llama-gqa-sharded", "gpt2", "opt", "neox"];
const POINTS = ["resid_mid", "attn_out", "mlp_out"] as const;

function dispose(out: ForwardOutput): void {
  tf.dispose([...out.hiddenStates, out.residPreFinalNorm, ...Object.values(out.points).flat()]);
}

/** Every value of every state and point equal (Object.is: -0 and NaN count). */
function expectSameOutputs(a: ForwardOutput, b: ForwardOutput, what: string): void {
  const pairs: [tf.Tensor, tf.Tensor][] = a.hiddenStates.map((h, i) => [h, b.hiddenStates[i]]);
  for (const p of POINTS) a.points[p]!.forEach((t, i) => pairs.push([t, b.points[p]![i]]));
  expect(pairs.length).toBeGreaterThan(a.hiddenStates.length);
  for (const [x, y] of pairs) {
    const u = x.dataSync(), v = y.dataSync();
    expect(v.length).toBe(u.length);
    let first = -1;
    for (let i = 0; i < u.length && first < 0; i++) if (!Object.is(u[i], v[i])) first = i;
    expect(first, `${what}: index ${first}`).toBe(-1);
  }
}

describe("reading the next block ahead", () => {
  it("is planned where two blocks take at most half the budget, and counted in weightPeak", () => {
    for (const variant of VARIANTS) {
      const opened = openCheckpoint(ck.dirs[variant]);
      const roomy = planModel(opened, 2 ** 40, "streamed");
      expect(roomy.prefetch, variant).toBe(true);
      const one = oneBlockPeak(roomy);
      expect(roomy.weightPeak).toBe(one + roomy.largestBlock.bytes);
      const edge = 2 * (one + roomy.largestBlock.bytes);
      expect(planModel(opened, edge, "streamed").prefetch, variant).toBe(true);
      const tight = planModel(opened, edge - 1, "streamed");
      expect(tight.prefetch, variant).toBe(false);
      expect(tight.weightPeak).toBe(one);
      expect(planModel(opened, 2 ** 40, "whole").prefetch).toBe(false);
    }
  });

  it.skipIf(!runs)("gives the whole model's outputs bit for bit, forward after forward, and holds one block between forwards", () => {
    const ids = tf.tensor2d([[3, 17, 5, 9, 2, 11, 40], [8, 1, 1, 30, 7, 19, 4]], [2, 7], "int32");
    for (const variant of VARIANTS) {
      const dir = ck.dirs[variant];
      const before = tf.memory().numTensors;
      const whole = openLocalModel(dir, { run: "whole", noTokenizer: true });
      const want = whole.forward(ids, { points: [...POINTS], logits: false });
      whole.dispose();
      const ahead = openLocalModel(dir, { run: "streamed", noTokenizer: true });
      expect(ahead.plan.prefetch, variant).toBe(true);
      for (const round of [1, 2, 3]) {
        const got = ahead.forward(ids, { points: [...POINTS], logits: false });
        expectSameOutputs(want, got, `${variant}, forward ${round}`);
        dispose(got);
      }
      // Between forwards: the model's own tensors and block 0, read ahead for the next forward.
      const held = tf.memory().numTensors;
      ahead.dispose();
      const plain = openLocalModel(dir, { run: "streamed", memory: 2 * ahead.plan.weightPeak - 1, noTokenizer: true });
      expect(plain.plan.prefetch, variant).toBe(false);
      dispose(plain.forward(ids, { points: [...POINTS], logits: false }));
      expect(held - tf.memory().numTensors, variant).toBe(namesOfBlock(openCheckpoint(dir), 0).length);
      plain.dispose();
      dispose(want);
      expect(tf.memory().numTensors, `${variant}: tensors left behind`).toBe(before);
    }
    ids.dispose();
  });

  it.skipIf(!runs)("a block that cannot be read names its file and tensor, and what was read is freed", () => {
    const dir = path.join(ck.root, "cut-bf16");
    fs.cpSync(ck.dirs["llama-gqa-bf16"], dir, { recursive: true });
    const opened = openCheckpoint(dir);
    // Cut the file inside block 1's first tensor: blocks 0 reads, block 1 does not.
    const first = opened.tensors.get(namesOfBlock(opened, 1).reduce((a, b) => (opened.tensors.get(a)!.byteOffset < opened.tensors.get(b)!.byteOffset ? a : b)))!;
    expect(namesOfBlock(opened, 0).every((n) => opened.tensors.get(n)!.byteOffset + opened.tensors.get(n)!.byteLength <= first.byteOffset)).toBe(true);
    const before = tf.memory().numTensors;
    const ids = tf.tensor2d([[3, 17, 5, 9]], [1, 4], "int32");
    const model = openLocalModel(dir, { run: "streamed", noTokenizer: true });
    expect(model.plan.prefetch).toBe(true);
    fs.truncateSync(first.file, first.byteOffset + 2);
    expect(() => model.forward(ids, { logits: false })).toThrow(
      new RegExp(`^${first.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: tensor '[^']+': unexpected end of file before byte \\d+$`),
    );
    model.dispose();
    ids.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
