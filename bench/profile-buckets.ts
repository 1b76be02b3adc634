/**
 * Self time of a V8 CPU profile (`node --cpu-prof`), summed by function and into the phases of a
 * `linearity score` process (bench/profile-score.ts). A native call (OpenBLAS, LAPACK, fs.read)
 * has no frame of its own: its time is the self time of the JavaScript function that made it, so
 * the bucket of that caller names the native work (products-native.ts `add`: dsyrk / dgemm;
 * solve.ts, dense-ops.ts: dpotrf, dtrsm, dsyevr). The profiler samples the main thread's wall
 * clock: OpenBLAS's other threads are not in it, and time the process waits for a core counts
 * where it waited.
 */

/** The parts of a .cpuprofile this file reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Phases of a `linearity score` process, in report order. */
export const BUCKETS = [
  "start-up (node, modules)",
  "backend init (native BLAS load, self-test)",
  "reading the files",
  "scan (shift to float64, sums)",
  "Gram products (dsyrk / dgemm)",
  "Gram assembly (mirror, centre)",
  "factorization, solves, eigen",
  "the cut",
  "garbage collection",
  "other",
] as const;
export type Bucket = (typeof BUCKETS)[number];

/** Where one frame's self time goes (`url` as V8 gives it: file:///.../dist/lib/..., node:..., or ""). */
export function bucketOf(functionName: string, url: string): Bucket {
  if (functionName === "(garbage collector)") return "garbage collection";
  // fs calls of the row reads (open, fstat, read, close); module loading reads with readFileSync.
  if ((url === "" && /^(open|read|close|fstat)$/.test(functionName)) || (/^node:(fs|internal\/fs\/utils)$/.test(url) && functionName !== "readFileSync")) return "reading the files";
  if (url.startsWith("node:") || functionName === "(program)" || functionName === "(root)") return "start-up (node, modules)";
  if (/\/node_modules\//.test(url)) return "start-up (node, modules)";
  if (/\/lib\/native\//.test(url)) return "backend init (native BLAS load, self-test)";
  if (/\/lib\/(io\/npy|dataset\/sources|numerics\/precentre)\.js$/.test(url) || (url === "" && functionName === "read")) return "reading the files";
  if (/\/lib\/numerics\/products-native\.js$/.test(url)) return "Gram products (dsyrk / dgemm)";
  if (/\/lib\/numerics\/shifted-rows\.js$/.test(url)) return "scan (shift to float64, sums)";
  if (/\/lib\/numerics\/gram-accumulator\.js$/.test(url)) {
    return /^(scan|shifted64|buffer|admit|start|add|addBlock|)$/.test(functionName) ? "scan (shift to float64, sums)" : "Gram assembly (mirror, centre)";
  }
  if (/\/lib\/numerics\/products\.js$/.test(url)) return "Gram assembly (mirror, centre)";
  if (/\/lib\/numerics\/cut\.js$/.test(url)) return "the cut";
  if (/\/lib\/numerics\/(solve|dense-ops|cholesky-blocked|least-squares|centred-fit)\.js$/.test(url)) return "factorization, solves, eigen";
  return "other";
}

/** Seconds of self time by function ("name file:line") and by bucket, and the profile's span. */
export function summarize(p: CpuProfile): { span: number; byFunction: Map<string, number>; byBucket: Map<Bucket, number> } {
  const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byBucket = new Map<Bucket, number>(BUCKETS.map((b) => [b, 0]));
  for (let k = 0; k < p.samples.length; k++) {
    const f = nodes.get(p.samples[k]);
    if (!f || f.functionName === "(idle)") continue;
    const s = (p.timeDeltas[k + 1] ?? 0) / 1e6; // the interval until the next sample
    const name = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(dist\/lib|node_modules)\//, "")}:${f.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + s);
    const b = bucketOf(f.functionName, f.url);
    byBucket.set(b, byBucket.get(b)! + s);
  }
  return { span: (p.endTime - p.startTime) / 1e6, byFunction, byBucket };
}
