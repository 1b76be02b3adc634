/**
 * Which OpenBLAS kernels to run: the decision, kept apart from the loading so it can be tested on
 * any CPU's flags.
 *
 * Why: a DYNAMIC_ARCH OpenBLAS (Debian's, the one PyTorch loads too) picks its kernels once, when
 * it is loaded, from CPUID's family and model. On virtual machines whose model is masked
 * ("Intel(R) Xeon(R) Processor" with avx512f and avx2) it knows no model and falls back to its
 * generic Prescott (SSE3) kernels: measured there, float64 GEMM 21-34 GFLOP/s against 155 with
 * OPENBLAS_CORETYPE=SKYLAKEX, float32 71 against 314. The CPU's flags say what it can run, so
 * when OpenBLAS reports that generic core the kernel is chosen from them instead. A user's own
 * OPENBLAS_CORETYPE always wins.
 */

/** An OPENBLAS_CORETYPE value this project may choose (names every OpenBLAS since 0.3.0 knows). */
export type OpenblasCore = "SKYLAKEX" | "HASWELL" | "SANDYBRIDGE";

/** The cores OpenBLAS reports when its detection did not recognise the CPU (case-insensitive). */
const GENERIC_CORES = new Set(["prescott"]);

/** The flags (lower case) of the first `flags` line of a /proc/cpuinfo text; empty when there is none. */
export function cpuFlagsFromCpuinfo(cpuinfo: string): Set<string> {
  const line = cpuinfo.split("\n").find((l) => /^flags\s*:/.test(l));
  return new Set(line === undefined ? [] : line.slice(line.indexOf(":") + 1).trim().toLowerCase().split(/\s+/).filter(Boolean));
}

/**
 * The fastest kernel set the flags allow: SKYLAKEX with the AVX-512 foundation, byte/word,
 * vector-length, doubleword/quadword and conflict-detection sets (what OpenBLAS's own SkylakeX
 * check needs); HASWELL with AVX2 and FMA; SANDYBRIDGE with AVX; none (keep OpenBLAS's choice)
 * below that.
 */
export function openblasCoreFromFlags(flags: ReadonlySet<string>): OpenblasCore | undefined {
  const has = (...names: string[]) => names.every((n) => flags.has(n));
  if (has("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx2", "fma")) return "SKYLAKEX";
  if (has("avx2", "fma")) return "HASWELL";
  if (has("avx")) return "SANDYBRIDGE";
  return undefined;
}

/** Whether OpenBLAS's reported core is its fallback for a CPU it did not recognise. */
export function isGenericOpenblasCore(corename: string): boolean {
  return GENERIC_CORES.has(corename.trim().toLowerCase());
}

/** What to do about the loaded library's kernels. */
export type KernelDecision =
  | { action: "keep"; why: "user" | "detected" | "no-better-flags" }
  | { action: "reload"; core: OpenblasCore };

/**
 * The decision, from what OpenBLAS detected (`openblas_get_corename`), the user's
 * OPENBLAS_CORETYPE (undefined or empty when unset) and the CPU's flags.
 */
export function decideOpenblasKernel(detected: string, userCore: string | undefined, flags: ReadonlySet<string>): KernelDecision {
  if (userCore !== undefined && userCore.trim() !== "") return { action: "keep", why: "user" };
  if (!isGenericOpenblasCore(detected)) return { action: "keep", why: "detected" };
  const core = openblasCoreFromFlags(flags);
  return core === undefined ? { action: "keep", why: "no-better-flags" } : { action: "reload", core };
}
