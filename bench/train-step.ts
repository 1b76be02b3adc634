/**
 * Training speed of `linearity train` with and without the consecutive-state regularizer
 * (`--reg cosine|mse`), through the real training loop (lib/train/loop.ts) at the shipped
 * model's sizes (6 blocks, d_model 128, 4 heads, d_mlp 256, batch 8 x 128 tokens).
 *
 *   npx tsx bench/train-step.ts [--steps 6] [--rounds 3]
 *
 * Each round runs every variant for `steps` steps in turn (none, cosine, mse), so the variants
 * share the machine's load; the time of a variant is the median step time over all its rounds,
 * the first step of each run (warm-up) and the last (validation and checkpoint) left out. Two
 * clocks: wall time, and this process's CPU time (user + system). Training runs on one thread
 * (wasm), so on a shared machine the CPU time is what the step costs and the wall time mostly
 * says how busy the machine was.
 * Text: Brown train split (speed does not depend on the text). Output folders are temporary.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { brownSplit, loadBrown } from "../lib/corpus/brown";
import { train } from "../lib/train/loop";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../lib/train/options";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const backend = await initBackend({ quiet: true });
  const steps = Number(arg("--steps", "6"));
  const rounds = Number(arg("--rounds", "3"));
  const docs = loadBrown();
  const texts = { train: brownSplit(docs, "train").map((d) => d.text), heldout: brownSplit(docs, "heldout").map((d) => d.text) };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-bench-train-"));
  const d = DEFAULT_TRAIN_OPTIONS;
  console.log(`backend ${backend}; batch ${d.batchSize} x ${d.seqLen} tokens; n_layers ${d.model.n_layers}, d_model ${d.model.d_model}; ` +
    `${steps} steps x ${rounds} rounds per variant; ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  const variants: { name: string; reg: TrainOptions["reg"] }[] = [
    { name: "no regularizer", reg: "none" },
    { name: "--reg cosine", reg: "cosine" },
    { name: "--reg mse", reg: "mse" },
  ];
  const stepSeconds = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const stepCpuSeconds = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const v of variants) {
        const out = path.join(root, `${v.reg}-${round}`);
        const opts: TrainOptions = {
          ...d, out, steps, reg: v.reg, regWeight: 0.5, evalEvery: steps, evalSequences: 1,
          checkpointEvery: steps, keepCheckpoints: 1, finalEvalSequences: 0,
        };
        let last = performance.now();
        let lastCpu = cpuNow();
        const times: number[] = [];
        const cpuTimes: number[] = [];
        await train(opts, texts, {
          hooks: {
            onStep: (s) => {
              const now = performance.now();
              const cpu = cpuNow();
              if (s.step > 1 && s.step < steps) {
                times.push((now - last) / 1000);
                cpuTimes.push(cpu - lastCpu);
              }
              last = now;
              lastCpu = cpu;
            },
          },
        });
        stepSeconds.get(v.name)!.push(...times);
        stepCpuSeconds.get(v.name)!.push(...cpuTimes);
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
    const base = median(stepSeconds.get(variants[0].name)!);
    const baseCpu = median(stepCpuSeconds.get(variants[0].name)!);
    const tokens = d.batchSize * d.seqLen;
    for (const v of variants) {
      const s = median(stepSeconds.get(v.name)!);
      const c = median(stepCpuSeconds.get(v.name)!);
      console.log(`${v.name.padEnd(16)} CPU ${(c * 1000).toFixed(0).padStart(6)} ms/step (${(tokens / c).toFixed(0).padStart(5)} tokens/CPU-s, ${(c / baseCpu).toFixed(3)}x)` +
        `   wall ${(s * 1000).toFixed(0).padStart(6)} ms/step (${(tokens / s).toFixed(0).padStart(5)} tokens/s, ${(s / base).toFixed(3)}x)   median of ${stepSeconds.get(v.name)!.length} steps`);
    }
    console.log(`load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
