/**
 * `npm run bench:intrinsic-dim`: TwoNN intrinsic dimension (exact neighbours) at 20,000 x 768
 * on seeded synthetic states (bench/synthetic.ts, state 3): wall and CPU time of the whole estimate
 * (CPU time tells the cost on a shared machine), and how many rows needed the full float64 rescan.
 * Environment: BENCH_TOKENS
 * (20000), BENCH_DMODEL (768), BENCH_CANDIDATES (8), BENCH_BLOCK (1024). Not part of `npm test`.
 */
import * as os from "os";
import { initBackend } from "../lib/backend";
import { intrinsicDimension } from "../lib/metrics/intrinsic-dimension";
import { SyntheticStates } from "./synthetic";

const env = (k: string, dflt: number) => (process.env[k] ? Number(process.env[k]) : dflt);
const N = env("BENCH_TOKENS", 20000), D = env("BENCH_DMODEL", 768);

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(`TwoNN bench: ${N} tokens x d_model ${D}, backend ${backend}, load average ${os.loadavg().map((v) => v.toFixed(1)).join(" ")}`);
  const gen = new SyntheticStates(5, D, 1);
  const x = new Float32Array(N * D);
  let o = 0;
  for (const c of gen.chunks(N, 2048)) {
    x.set(c.states[3], o);
    o += c.states[3].length;
  }
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const r = intrinsicDimension(x, D, {
    candidates: env("BENCH_CANDIDATES", 8),
    blockRows: env("BENCH_BLOCK", 1024),
  });
  const s = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(`intrinsicDimension: ${s.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU, d = ${r.dimension.toFixed(4)}, rescanned ${r.rescanned} rows, duplicates ${r.duplicates}`);
  console.log(`matmul work: ${((N * N * D) / 1e9).toFixed(1)} GFLOP (one product per unordered pair)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
