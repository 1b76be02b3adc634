/**
 * What one machine of a sharded extraction does (docs/cluster.md, "Scale on paper"):
 *
 *   npm run build && npx tsx bench/cluster.ts        (npm run bench:cluster)
 *
 * A random-weight byte-level Llama of OPT-125m's size (d_model 768, 12 blocks, 12 heads, d_mlp
 * 2048, F32; the architecture `linearity train` makes) extracts BENCH_CLUSTER_TOKENS tokens
 * (default 3072) of corpus:brown:heldout (--spread: one sequence per document), seq-len 128, batch 8, float16 states, as a whole
 * process (`node bin/linearity.js extract`, default workers): once unsharded, then as 3 shards
 * one after another (`--shard i/3`), BENCH_ROUNDS times (default 2), alternating. It prints the
 * tokens/s of each (whole process and in the batches), and the fixed cost a task pays on top of
 * its tokens (start-up, the counting pass over the text, loading the model):
 * (sum of the 3 shards' seconds - the unsharded seconds) / 2, in wall and in CPU seconds (user +
 * system, which depend far less on the machine's load). Then, when the CLI has `moments`
 * and `merge`, the seconds to write each shard's moments file and to merge the 3 files.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend";
import { nativeBlasStatus } from "../lib/native";
import { saveCheckpoint } from "../lib/models/save";
import { initialStateDict, llamaHfConfig, type ModelSizes } from "../lib/train/model";
import { Rng } from "../lib/train/random";

const ROOT = path.resolve(__dirname, "..");
const TOKENS = Number(process.env.BENCH_CLUSTER_TOKENS ?? 3072);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SHARDS = 3;
const SIZES: ModelSizes = {
  n_layers: 12, d_model: 768, n_heads: 12, n_kv_heads: 12, d_mlp: 2048, n_ctx: 2048,
  rope_theta: 10000, norm_eps: 1e-5, tie_word_embeddings: false,
};

const load = (): string => os.loadavg().map((v) => v.toFixed(1)).join(" ");

/**
 * Wall and CPU seconds (user + system, all threads, through bash's `time`) and stdout of
 * `node bin/linearity.js ARGS`; throws with stderr when it fails. CPU seconds depend far less on
 * the machine's load than wall seconds.
 */
function cli(args: string[]): { seconds: number; cpu: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync("bash", ["-c", 'TIMEFORMAT="cpu %U %S"; time "$@"', "bash", process.execPath, "bin/linearity.js", ...args], {
    cwd: ROOT, encoding: "utf8", env: { ...process.env, LINEARITY_QUIET: "1" }, maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`linearity ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { seconds: (performance.now() - t) / 1000, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, stdout: r.stdout };
}

/** The batch-phase tokens/s `linearity extract` prints ("(1024 this run, 291 tokens/s)"). */
function batchRate(stdout: string): number {
  return Number(/this run, (\d+) tokens\/s/.exec(stdout)?.[1] ?? NaN);
}

/** Whether `linearity --help` lists the command. */
function hasCommand(name: string): boolean {
  const help = spawnSync(process.execPath, ["bin/linearity.js", "--help"], { cwd: ROOT, encoding: "utf8" }).stdout ?? "";
  return new RegExp(`^\\s+${name}\\b`, "m").test(help);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  await initBackend({ quiet: true });
  if (!fs.existsSync(path.join(ROOT, "dist", "lib", "cli", "main.js"))) {
    console.log("bench/cluster: skipped (dist/ missing; run npm run build)");
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-cluster-"));
  try {
    const model = path.join(tmp, "llama-768");
    const sd = initialStateDict(SIZES, new Rng(12));
    saveCheckpoint(model, llamaHfConfig(SIZES), sd, "F32");
    tf.dispose(Object.values(sd));
    const settings = ["--model", model, "--text", "corpus:brown:heldout", "--max-tokens", String(TOKENS), "--seq-len", "128", "--batch-size", "8", "--dtype", "float16", "--spread"];
    console.log(`== one machine of a sharded extraction: Llama d_model 768 x 12 blocks, ${TOKENS} tokens, seq-len 128, batch 8, float16 ==`);
    console.log(`${os.cpus().length} cores, load average at the start ${load()}; extract's products: ${nativeBlasStatus()}`);
    const whole: number[] = [];
    const wholeCpu: number[] = [];
    const shardCpu: number[] = [];
    const wholeBatches: number[] = [];
    const sharded: number[] = [];
    const shardBatches: number[] = [];
    const fixed: number[] = [];
    const fixedCpu: number[] = [];
    let shardDirs: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const w = cli(["extract", ...settings, "--out", path.join(tmp, `whole-${round}`)]);
      whole.push(TOKENS / w.seconds);
      wholeCpu.push(TOKENS / w.cpu);
      wholeBatches.push(batchRate(w.stdout));
      shardDirs = [];
      let sum = 0;
      let cpu = 0;
      for (let i = 0; i < SHARDS; i++) {
        const out = path.join(tmp, `shard-${round}-${i}`);
        shardDirs.push(out);
        const s = cli(["extract", ...settings, "--out", out, "--shard", `${i}/${SHARDS}`]);
        sum += s.seconds;
        cpu += s.cpu;
        shardBatches.push(batchRate(s.stdout));
      }
      sharded.push(TOKENS / sum);
      shardCpu.push(TOKENS / cpu);
      fixed.push((sum - w.seconds) / (SHARDS - 1));
      fixedCpu.push((cpu - w.cpu) / (SHARDS - 1));
      console.log(
        `round ${round + 1}: unsharded ${whole[round].toFixed(0)} tokens/s whole process (${w.seconds.toFixed(1)} s, ${wholeBatches[round]} in its batches, ` +
          `${wholeCpu[round].toFixed(0)} tokens per CPU-s); ${SHARDS} shards in turn ${sharded[round].toFixed(0)} tokens/s (${sum.toFixed(1)} s, ` +
          `${shardCpu[round].toFixed(0)} tokens per CPU-s); fixed cost per task ${fixed[round].toFixed(1)} s (${fixedCpu[round].toFixed(1)} CPU-s); load ${load()}`,
      );
    }
    console.log(
      `best / median: unsharded ${Math.max(...whole).toFixed(0)} / ${median(whole).toFixed(0)} tokens/s (batches ${Math.max(...wholeBatches)} / ${median(wholeBatches)}); ` +
        `shards in turn ${Math.max(...sharded).toFixed(0)} / ${median(sharded).toFixed(0)} tokens/s; fixed cost per task ${Math.min(...fixed).toFixed(1)} / ${median(fixed).toFixed(1)} s ` +
        `(${Math.min(...fixedCpu).toFixed(1)} / ${median(fixedCpu).toFixed(1)} CPU-s); ` +
        `tokens per CPU-s unsharded ${Math.max(...wholeCpu).toFixed(0)} / ${median(wholeCpu).toFixed(0)}, sharded ${Math.max(...shardCpu).toFixed(0)} / ${median(shardCpu).toFixed(0)}`,
    );
    if (hasCommand("moments") && hasCommand("merge")) {
      const files = shardDirs.map((d) => `${d}.moments.safetensors`);
      let each = 0;
      let eachCpu = 0;
      shardDirs.forEach((d, i) => {
        const m = cli(["moments", d, "--out", files[i]]);
        each += m.seconds;
        eachCpu += m.cpu;
      });
      const merged = cli(["merge", ...files, "--out", path.join(tmp, "merged.moments.safetensors")]);
      const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
      console.log(
        `moments: ${(each / SHARDS).toFixed(1)} s (${(eachCpu / SHARDS).toFixed(1)} CPU-s) per shard of ${TOKENS / SHARDS} tokens; ` +
          `merge of ${SHARDS} files (${(bytes / 2 ** 20).toFixed(0)} MiB in all) ${merged.seconds.toFixed(1)} s (${merged.cpu.toFixed(1)} CPU-s) whole process, ` +
          `${(bytes / 2 ** 20 / merged.seconds).toFixed(0)} MiB/s of input; load ${load()}`,
      );
    } else {
      console.log("moments / merge: not in this build of the CLI; skipped");
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
