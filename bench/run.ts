/**
 * `npm run bench:matrix`: timings of the linearity score at the original notebook's size
 * (22,986 tokens x 768, 13 states), on seeded synthetic states (bench/synthetic.ts).
 *   1. one score X -> Y: the default (native BLAS when available: float64 products for every
 *      state), and the fallback routes (`native: false`: auto, forced float64, forced float32),
 *      side by side on the same data, alternated, best of BENCH_REPEATS
 *   2. the all-pairs matrix for 13 states, with the residual variant, in one pass (default;
 *      BENCH_MATRIX_FALLBACK=1 adds the fallback pass on the same data)
 *   3. the original's SVD formula in float64 TypeScript (bench/svd-formula.ts)
 * Environment: BENCH_TOKENS (22986), BENCH_STATES (13), BENCH_DMODEL (768), BENCH_REPEATS (3),
 * BENCH_SKIP_SVD=1, BENCH_SKIP_MATRIX=1, BENCH_MATRIX_FALLBACK=1. Not part of `npm test`.
 */
import * as os from "os";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../lib/backend";
import { LinearityAccumulator, LinearityMatrixAccumulator, linearityScore, nativeBlasStatus } from "../lib";
import { SyntheticStates } from "./synthetic";
import { svdFormulaScore } from "./svd-formula";

const env = (k: string, dflt: number) => (process.env[k] ? Number(process.env[k]) : dflt);
const N = env("BENCH_TOKENS", 22986), D = env("BENCH_DMODEL", 768), S = env("BENCH_STATES", 13);
const PYTORCH_SECONDS = 3.7; // the original's torch 1.13 CPU code, one pair, measured on this machine (2 cores); `npm run bench` re-measures it side by side

function line(name: string, seconds: number, flops: number, extra = ""): void {
  console.log(`${name.padEnd(46)} ${seconds.toFixed(2).padStart(8)} s ${(flops / seconds / 1e9).toFixed(1).padStart(7)} GFLOP/s  ${extra}`);
}

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(`linearity-lab bench: ${N} tokens x d_model ${D}, ${S} states, backend ${backend}, ${nativeBlasStatus()}, node ${process.version}`);
  // Calibration: the raw matmul rate and the machine's load, so figures from a busy machine
  // can be read (the ratios below are measured side by side in this run either way).
  const ca = tf.randomNormal([D, 1024]), cb = tf.randomNormal([1024, D]);
  tf.matMul(ca, cb).dispose();
  let tc = performance.now();
  for (let k = 0; k < 5; k++) tf.matMul(ca, cb).dataSync();
  const calib = (5 * 2 * D * 1024 * D) / ((performance.now() - tc) / 1000) / 1e9;
  ca.dispose();
  cb.dispose();
  console.log(`calibration: float32 matmul [${D},1024]x[1024,${D}] ${calib.toFixed(1)} GFLOP/s; load average ${os.loadavg().map((v) => v.toFixed(1)).join(" ")} on ${os.cpus().length} cores`);
  const gen = new SyntheticStates(S, D, 1);

  // Materialise the pair (states 3 -> 4) for the single-score timings.
  const P = Math.min(3, S - 2);
  const pairBlocks = [...gen.chunks(N, 2048)];
  const x = new Float32Array(N * D), y = new Float32Array(N * D);
  let o = 0;
  for (const c of pairBlocks) {
    x.set(c.states[P], o);
    y.set(c.states[P + 1], o);
    o += c.states[P].length;
  }
  pairBlocks.length = 0;
  const xt = tf.tensor2d(x, [N, D]), yt = tf.tensor2d(y, [N, D]);
  linearityScore(tf.slice(xt, [0, 0], [2048, D]) as tf.Tensor2D, tf.slice(yt, [0, 0], [2048, D]) as tf.Tensor2D); // warm-up

  const probe = new LinearityAccumulator(D, D, { native: false });
  probe.add(x.subarray(0, 4096 * D), y.subarray(0, 4096 * D));
  const route = probe.result();
  console.log(`fallback route "auto" on X: condition estimate of the warm-up correlation matrix ${route.conditionEstimate.toExponential(2)} -> ${route.route} route`);

  const nd2 = N * D * D;
  // Alternated, best of BENCH_REPEATS: other processes share the cores.
  const variants: [string, { native?: boolean; route?: "float32" | "float64" }, number][] = [
    ["default (native BLAS when available)", {}, 4],
    [`fallback auto (${route.route})`, { native: false }, 4],
    ["fallback float64 (JavaScript)", { native: false, route: "float64" }, 4],
    ["fallback float32 (tfjs)", { native: false, route: "float32" }, 4],
  ];
  const repeats = env("BENCH_REPEATS", 3);
  const best = variants.map(() => Infinity), scores = variants.map(() => NaN);
  for (let k = 0; k < repeats; k++) {
    variants.forEach(([, opts], v) => {
      const t = performance.now();
      scores[v] = linearityScore(xt, yt, opts);
      best[v] = Math.min(best[v], (performance.now() - t) / 1000);
    });
  }
  const score = scores[0], tScore = best[0];
  console.log(`\n== one pair (state ${P} -> ${P + 1}), best of ${repeats} ==`);
  variants.forEach(([name, , f], v) => line(`linearityScore, ${name}`, best[v], f * nd2, `score ${scores[v].toFixed(6)} (|diff| vs default ${Math.abs(scores[v] - score).toExponential(1)}); vs PyTorch ${PYTORCH_SECONDS} s: ${(PYTORCH_SECONDS / best[v]).toFixed(2)}x`));
  let t = performance.now();
  const acc = new LinearityAccumulator(D, D, { residual: true });
  acc.add(x, y);
  const both = acc.result();
  line("LinearityAccumulator (score + residual, default)", (performance.now() - t) / 1000, 6 * nd2, `residual ${both.residualScore!.toFixed(6)}`);
  console.log(`load average now ${os.loadavg().map((v) => v.toFixed(1)).join(" ")}`);

  let tSvd = NaN;
  if (!process.env.BENCH_SKIP_SVD) {
    const svd = svdFormulaScore(x, y, N, D);
    tSvd = svd.totalSeconds;
    line("SVD formula, float64 TS (QR + ml-matrix SVD)", svd.totalSeconds, svd.flops,
      `score ${svd.score.toFixed(6)} (|diff| vs ours ${Math.abs(svd.score - score).toExponential(1)}); QR ${svd.qrSeconds.toFixed(1)} s, SVD of R ${svd.svdSeconds.toFixed(1)} s`);
    console.log(`ratio SVD formula / linearityScore (default): ${(tSvd / tScore).toFixed(1)}x`);
  }
  xt.dispose();
  yt.dispose();

  if (!process.env.BENCH_SKIP_MATRIX) {
    console.log(`\n== all pairs, ${S} states, one pass (+ residual variant) ==`);
    // Generate every block first (S x N x D float32: 918 MB at full size) so that only the pass is timed.
    let t0 = performance.now();
    const blocks: Float32Array[][] = [];
    for (let b = 0, start = 0; start < N; b++, start += 2048) blocks.push(gen.block(b, Math.min(2048, N - start)));
    const tGen = (performance.now() - t0) / 1000;
    const pairs = (S * (S - 1)) / 2;
    const products = (S - 1) + pairs; // Grams of sources + cross products
    const flops = 2 * nd2 * (products + (S - 1)); // + whitening of each source
    const modes: ("default" | "fallback")[] = process.env.BENCH_MATRIX_FALLBACK ? ["default", "fallback"] : ["default"];
    const totals: Record<string, number> = {};
    for (const mode of modes) {
      const m = new LinearityMatrixAccumulator(S, D, { residual: true, native: mode === "default" ? undefined : false });
      t0 = performance.now();
      for (const states of blocks) m.add(states);
      const tPass = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const res = m.result();
      const tEnd = (performance.now() - t0) / 1000;
      const total = tPass + tEnd;
      totals[mode] = total;
      line(`linearityMatrix, ${pairs} pairs, ${mode}`, total, flops,
        `pass ${tPass.toFixed(1)} s + collect/solve ${tEnd.toFixed(1)} s; per pair ${(total / pairs).toFixed(2)} s (generation ${tGen.toFixed(1)} s not counted)`);
      console.log(`ratio vs PyTorch one pair at a time (${pairs} x ${PYTORCH_SECONDS} s = ${(pairs * PYTORCH_SECONDS).toFixed(0)} s, no residual): ${((pairs * PYTORCH_SECONDS) / total).toFixed(1)}x`);
      if (!Number.isNaN(tSvd)) console.log(`ratio vs the TS SVD formula one pair at a time (${pairs} x ${tSvd.toFixed(1)} s): ${((pairs * tSvd) / total).toFixed(1)}x`);
      console.log(`sources on the float64 route: ${res.routes.filter((r) => r === "float64").length} of ${S - 1}`);
      console.log("scores i -> i+1:", res.scores.slice(0, S - 1).map((r, i) => r[i + 1].toFixed(4)).join(" "));
      console.log("residual i -> i+1:", res.residualScores!.slice(0, S - 1).map((r, i) => r[i + 1].toFixed(4)).join(" "));
      console.log(`check: matrix[${P}][${P + 1}] = ${res.scores[P][P + 1].toFixed(6)} vs single score ${score.toFixed(6)}`);
    }
    if (totals.fallback) console.log(`ratio matrix fallback / default: ${(totals.fallback / totals.default).toFixed(2)}x`);
  }
  gen.dispose();
}

main().then(() => console.log(`load average at the end: ${os.loadavg().map((v) => v.toFixed(1)).join(" ")}`)).catch((e) => {
  console.error(e);
  process.exit(1);
});
