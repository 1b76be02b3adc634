/**
 * The system's BLAS (OpenBLAS where installed), through the small Node-API addon in native/.
 *
 * Why: tfjs-backend-wasm multiplies float32 at ~30 GFLOP/s on one core and plain JavaScript
 * float64 at 1.5-5 GFLOP/s; OpenBLAS on this project's 2-core machines does ~150 GFLOP/s float32
 * and ~75 GFLOP/s float64 on both cores (`npm run bench`). It is the same library Debian's
 * PyTorch multiplies with. Optional: when the addon was not built (no C compiler at install) or
 * no CBLAS library is installed (`apt-get install libopenblas0`), {@link nativeBlas} returns
 * undefined and callers take their wasm / JavaScript route. `LINEARITY_NATIVE=0` forces that.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cpuFlagsFromCpuinfo, decideOpenblasKernel } from "./openblas-core";

/** Optional float64 factorizations and triangular calls (LAPACK / CBLAS level 2-3), row-major like the products. */
export interface NativeLapack {
  /**
   * Cholesky in place: the lower triangle of the symmetric A [n, n] (row stride lda) becomes L with
   * A = L L^T; the strict upper triangle is untouched. Returns 0, or k > 0 when the leading minor
   * of order k is not positive definite (LAPACK dpotrf).
   */
  potrfLower(n: number, A: Float64Array, lda: number): number;
  /** B [M, N] := op(L)^-1 B in place; L [M, M] lower triangular, op(L) = L, or L^T when `trans` (cblas_dtrsm). */
  trsmLower(trans: boolean, M: number, N: number, L: Float64Array, ldl: number, B: Float64Array, ldb: number): void;
  /** x [n] := op(L)^-1 x in place (cblas_dtrsv). */
  trsvLower(trans: boolean, n: number, L: Float64Array, ldl: number, x: Float64Array): void;
  /** x [n] := op(L) x in place (cblas_dtrmv). */
  trmvLower(trans: boolean, n: number, L: Float64Array, ldl: number, x: Float64Array): void;
  /**
   * All eigenpairs of the symmetric A [n, n] (its upper triangle is read; A is overwritten): w [n]
   * ascending, row k of Z [n, ldz] the unit eigenvector of w[k]. Returns LAPACK's info, 0 on
   * success (dsyevr, MRRR), or {@link EIGH_INCOMPLETE} when dsyevr reported success but found
   * fewer than n eigenvalues. A, w and Z must not overlap (refused).
   */
  eigh(n: number, A: Float64Array, lda: number, w: Float64Array, Z: Float64Array, ldz: number): number;
  /**
   * All eigenpairs of the symmetric A [n, n] (its upper triangle is read): w [n] ascending, and row
   * k of A becomes the unit eigenvector of w[k]. Returns LAPACK's info, 0 on success (dsyevd,
   * divide and conquer: ~2 n^2 doubles of workspace, faster than dsyevr here, most of all on the
   * clustered zero eigenvalues of a rank-deficient Gram).
   */
  eighInPlace(n: number, A: Float64Array, lda: number, w: Float64Array): number;
  /**
   * Householder QR in place of the COLUMN-major A [m, n] (column stride lda), LAPACK dgeqrf: R in
   * its upper triangle, the reflectors below and in tau [min(m, n)]. Returns LAPACK's info.
   */
  qrColMajor(m: number, n: number, A: Float64Array, lda: number, tau: Float64Array): number;
  /** C [m, n] := Q^T C (column-major, stride ldc), Q the k reflectors qrColMajor left in A [m, k] and tau (LAPACK dormqr). Returns info. */
  applyQtColMajor(m: number, n: number, k: number, A: Float64Array, lda: number, tau: Float64Array, C: Float64Array, ldc: number): number;
  /** A [n, n] = U diag(s) Vt, all COLUMN-major, s descending (LAPACK dgesvd; A is destroyed). Returns info. */
  svdSquare(n: number, A: Float64Array, s: Float64Array, U: Float64Array, Vt: Float64Array): number;
}

/**
 * The kernels the loaded library runs and who chose them: OpenBLAS's own detection, the user's
 * OPENBLAS_CORETYPE, or this project from the CPU's flags when OpenBLAS reported its generic
 * Prescott core (see lib/native/openblas-core.ts).
 */
export interface BlasKernel {
  /** The core the library reports now (`openblas_get_corename`), e.g. "SkylakeX"; "" where the library has no such call. */
  readonly core: string;
  readonly chosenBy: "openblas" | "user" | "cpu-flags";
  /** With `chosenBy: "cpu-flags"`: what OpenBLAS had detected itself (its generic core). */
  readonly detected?: string;
}

/** A loaded CBLAS library. All products are row-major. */
export interface NativeBlas {
  /** Library file, its configuration string and kernel, e.g. "libopenblas.so.0 (OpenBLAS 0.3.21 ... Zen), kernel Zen (OpenBLAS's detection)". */
  readonly description: string;
  /** Which kernels run, and who chose them. */
  readonly kernel: BlasKernel;
  /** Threads the library multiplies with. */
  threads(): number;
  /** Set the library's thread count (OpenBLAS; others ignore it). */
  setThreads(n: number): void;
  /**
   * C = alpha op(A) op(B) + beta C with op(A) [M, K], op(B) [K, N], C [M, N]; lda/ldb/ldc are the
   * row strides of the stored (untransposed) arrays. One float type for all three operands.
   */
  gemm<T extends Float32Array | Float64Array>(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: T, lda: number, B: T, ldb: number, beta: number, C: T, ldc: number,
  ): void;
  /** Upper triangle (row-major) of C [N, N] += A^T A, A [K, N] float64. The lower triangle is untouched. */
  syrkUpper(N: number, K: number, A: Float64Array, lda: number, C: Float64Array, ldc: number): void;
  /**
   * The optional calls of {@link NativeLapack}, each undefined where the loaded library lacks its
   * symbol (a CBLAS without LAPACK, say): callers then take their JavaScript route for that call.
   */
  readonly lapack: Partial<NativeLapack>;
  /** Copies done in C by the addon (no BLAS involved); undefined in an addon built before them. */
  readonly memory: Partial<NativeMemory>;
  /** The fused inference kernels; undefined in an addon built before them. */
  readonly kernels: NativeKernels | undefined;
  /** Files written off the main thread; undefined in an addon built before them. */
  readonly files: NativeFiles | undefined;
}

/** Bulk conversions of weights as they are loaded and of states as they are written, in C (native/blas.c, convert.c). */
export interface NativeMemory {
  /** dst [cols, rows] = src [rows, cols] transposed (float32, tiled); src and dst must not overlap. */
  transpose32(src: Float32Array, rows: number, cols: number, dst: Float32Array): void;
  /** dst[i] = the float32 of bfloat16 bits src[i] (exact); src may lie in dst's upper half. */
  widenBf16(src: Uint16Array, dst: Float32Array): void;
  /**
   * Ask Linux for transparent huge pages over `bytes` from the start of `buffer` (madvise
   * MADV_HUGEPAGE): true when taken. For the wasm heap's reservation, see lib/backend.ts.
   */
  adviseHugePages(buffer: ArrayBuffer, bytes: number): boolean;
  /**
   * Fault in buffer[offset, offset + bytes) writable on a background thread without touching its
   * contents (madvise MADV_POPULATE_WRITE, Linux 5.14+): true when the thread started.
   */
  populateInBackground(buffer: ArrayBuffer, offset: number, bytes: number): boolean;
  /**
   * dst[i] = the float16 bits of src[i], rounded to nearest even exactly as lib/io/f16.ts
   * encodeF16; returns the first index whose value float16 holds no finite value for (NaN, ±Inf,
   * |v| >= 65520), or -1. dst at least as long as src, not overlapping it. `route` is for the
   * tests: 0 (default) the fastest the CPU has, 1 scalar, 2 AVX2 + F16C, 3 AVX-512; -2 when the
   * CPU lacks the one asked for.
   */
  encodeF16(src: Float32Array, dst: Uint16Array, route?: number): number;
  /** The first index of src holding NaN or ±Inf, or -1. */
  findNonFinite(src: Float32Array): number;
  /**
   * dst.length values stored at byte `position` of open file `fd` as `dtype` (0 F32, 1 BF16, 2
   * F16) into dst as float32 (exact), shared among `threads` threads that each read small pieces
   * into their own buffer and widen from there (native/read.c). Returns 0, an errno, or -1 when
   * the file ends first.
   */
  readFloat32(fd: number, position: number, dtype: number, dst: Float32Array, threads: number): number;
}

/** Files written off the main thread (native/files.c). */
export interface NativeFiles {
  /**
   * Create each file (refused if it exists), write its header then its body, fsync and close it,
   * in order, then fsync `dir`: all on a thread of libuv's pool. Rejects with an Error whose
   * `code` (e.g. "ENOSPC") and `path` name the first failure. The arrays must not change until
   * it settles.
   */
  writeShardFiles(dir: string, files: [path: string, header: Uint8Array, body: ArrayBufferView][]): Promise<void>;
}

/**
 * Fused inference kernels in C (native/kernels.c) on float32 rows, for lib/native/wasm-fused.ts.
 * Norms accumulate in float64; exp is a polynomial within 2 ulp. Lengths are checked in C.
 */
export interface NativeKernels {
  /**
   * out [rows, width] = x / sqrt(mean(x^2) + eps) * gain per row; gain [width]; out may be x.
   * `threads` (default 1; also for layerNorm, swiglu and geluTanh): work shared among that many
   * threads by rows (values), each computed as on one thread, when there is enough of it.
   */
  rmsNorm(x: Float32Array, gain: Float32Array, eps: number, out: Float32Array, threads?: number): void;
  /** out [rows, width] = (x - mean) / sqrt(var + eps) * gain + bias per row (biased variance); out may be x. */
  layerNorm(x: Float32Array, gain: Float32Array, bias: Float32Array, eps: number, out: Float32Array, threads?: number): void;
  /** out = silu(gate) * up, element by element; out may be gate or up. */
  swiglu(gate: Float32Array, up: Float32Array, out: Float32Array, threads?: number): void;
  /** out = gelu_new(x) (the tanh form), element by element; out may be x. */
  geluTanh(x: Float32Array, out: Float32Array, threads?: number): void;
  /** Rotary (rotate_half) on rows [rows, width] at positions row % nPos, tables cos, sin [nPos, rot]; out apart from x. */
  rotary(x: Float32Array, cos: Float32Array, sin: Float32Array, out: Float32Array, nPos: number, width: number): void;
  /** Softmax in place over score rows [rows, nPos] seeing keys up to row % nPos (and within `window`, 0: none); hidden keys become 0. */
  causalSoftmax(scores: Float32Array, nPos: number, window: number): void;
  /**
   * Causal attention of `groups` independent groups: scores_g = scale q_g k_g^T, the causal softmax
   * in place, out_g = scores_g v_g; q, out [groups, rows, dHead], k, v [groups, nPos, dHead],
   * scores [groups, rows, nPos] (scratch), rows a multiple of nPos. The groups are shared among
   * `threads` threads, each calling sgemm: set the library's own threads to 1 first.
   */
  attentionGroups(
    q: Float32Array, k: Float32Array, v: Float32Array, scores: Float32Array, out: Float32Array,
    groups: number, rows: number, nPos: number, dHead: number, scale: number, window: number, threads: number,
  ): void;
  /**
   * Rotary, causal attention and the head merge in one call, on the projections' own layout:
   * out [batch, pos, nHeads * dHead] = attention of rotary(q) [batch, pos, nHeads * dHead] over
   * rotary(k) and v [batch, pos, nKvHeads * dHead], query head h reading kv head
   * floor(h / (nHeads / nKvHeads)); cos, sin [pos, rot] (rotate_half, rot even, at most dHead);
   * window 0: none. Per (sequence, kv head) group, the rotated keys and the group's rotated query
   * heads are gathered into scratch, then per piece of positions (`chunks` near-equal pieces, 1:
   * the whole causal square) two sgemm over the keys that piece sees, around the causal softmax.
   * The groups are shared among `threads` threads: set the library's own threads to 1 first.
   */
  rotaryAttention(
    q: Float32Array, k: Float32Array, v: Float32Array, cos: Float32Array, sin: Float32Array, out: Float32Array,
    batch: number, nPos: number, nHeads: number, nKvHeads: number, dHead: number, scale: number, window: number, chunks: number, threads: number,
  ): void;
}

/** The calls of {@link NativeKernels}: all present, or the kernels are unavailable. */
const KERNEL_CALLS = ["rmsNorm", "layerNorm", "swiglu", "geluTanh", "rotary", "causalSoftmax", "attentionGroups", "rotaryAttention"] as const satisfies readonly (keyof NativeKernels)[];

/** eigh's code for "dsyevr reported success but returned fewer than n eigenvalues" (outside LAPACK's -1..-21). */
export const EIGH_INCOMPLETE = -1000;

/** The optional calls, by name: the addon reports which its library provides (`has`). */
const LAPACK_CALLS = ["potrfLower", "trsmLower", "trsvLower", "trmvLower", "eigh", "eighInPlace", "qrColMajor", "applyQtColMajor", "svdSquare"] as const satisfies readonly (keyof NativeLapack)[];

/** The addon's calls (native/blas.c): those of {@link NativeBlas} and {@link NativeLapack}, bounds-checked there, plus its own queries. */
type Addon = Pick<NativeBlas, "gemm" | "syrkUpper" | "setThreads"> & NativeLapack & Partial<NativeMemory> & Partial<NativeKernels> & Partial<NativeFiles> & {
  info(): AddonInfo | null;
  has(call: string): boolean;
  /** Unload and load the library again with OPENBLAS_CORETYPE=core, set process-wide (once per process). */
  reloadWithCore?(core: string): boolean;
  /** One sgemm, dgemm and dpotrf under a signal guard (see {@link selfTestFailure}); null, or the crash. */
  selfTest?(a32: Float32Array, b32: Float32Array, c32: Float32Array, a64: Float64Array, b64: Float64Array, c64: Float64Array, s64: Float64Array): string | null;
  /** One dgeqrf, dormqr and dgesvd under the same guard (see {@link qrSelfTestFailure}); null, or the crash. */
  selfTestQr?(a: Float64Array, tau: Float64Array, c: Float64Array, s2: Float64Array, w: Float64Array, u: Float64Array, vt: Float64Array): string | null;
};

/** The QR route's calls: dropped together when their self-test fails. */
const QR_CALLS = ["qrColMajor", "applyQtColMajor", "svdSquare"] as const;

/** `corename` and `detected` are absent from an addon built before the kernel choice. */
type AddonInfo = { library: string; config: string; threads: number; corename?: string; detected?: string | null; threadTimeoutSet?: boolean };

let loaded: NativeBlas | null | undefined;
let whyNot = "";
let addonLoaded: Addon | null | undefined;
let addonWhyNot = "";
/** The addon's memory and file calls, made once when it loads (hot paths ask for them per call). */
let addonCalls: { memory: Partial<NativeMemory>; files: NativeFiles | undefined } | undefined;

/** The package root: the nearest folder above this file whose package.json names this package. */
function packageRoot(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, "utf8")).name === "linearity-lab") return dir;
      } catch {
        // an unreadable package.json further down: keep walking up
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The addon itself (native/build/Release/blas.node), which loads no BLAS until a BLAS call asks. */
function loadAddon(): Addon | null {
  const off = process.env.LINEARITY_NATIVE;
  if (off === "0" || off === "false") {
    addonWhyNot = "disabled by LINEARITY_NATIVE=0";
    return null;
  }
  const root = packageRoot();
  const file = root === undefined ? undefined : path.join(root, "native", "build", "Release", "blas.node");
  if (file === undefined || !fs.existsSync(file)) {
    addonWhyNot = "the native addon was not built (npm run build:native needs a C compiler)";
    return null;
  }
  try {
    return require(file) as Addon;
  } catch (e) {
    addonWhyNot = `the native addon did not load: ${(e as Error).message.split("\n")[0]}`;
    return null;
  }
}

function nativeAddon(): Addon | undefined {
  if (addonLoaded === undefined) {
    addonLoaded = loadAddon();
    if (addonLoaded !== null) {
      const addon = addonLoaded;
      const files = typeof addon.writeShardFiles === "function" ? { writeShardFiles: addon.writeShardFiles } : undefined;
      addonCalls = { memory: memoryOf(addon), files };
    }
  }
  return addonLoaded ?? undefined;
}

/**
 * The addon's calls that need no BLAS (native/convert.c, read.c; transpose32 uses OpenBLAS's
 * somatcopy where a library is there, its own tiles otherwise): available wherever the addon
 * loads, without the BLAS's self-test.
 */
function memoryOf(addon: Addon): Partial<NativeMemory> {
  return {
    transpose32: addon.transpose32, widenBf16: addon.widenBf16, adviseHugePages: addon.adviseHugePages,
    populateInBackground: addon.populateInBackground, encodeF16: addon.encodeF16, findNonFinite: addon.findNonFinite,
    readFloat32: addon.readFloat32,
  };
}

/**
 * The addon's memory calls (see {@link NativeMemory}), or undefined without the addon. Unlike
 * `nativeBlas()?.memory`, this needs no BLAS library: reading weights, encoding states and
 * checking values for NaN do not load OpenBLAS or wait for its self-test.
 */
export function nativeMemory(): Partial<NativeMemory> | undefined {
  nativeAddon();
  return addonCalls?.memory;
}

/** The addon's file writing (see {@link NativeFiles}), or undefined without it; needs no BLAS library. */
export function nativeFiles(): NativeFiles | undefined {
  nativeAddon();
  return addonCalls?.files;
}

function load(): NativeBlas | null {
  const addon = nativeAddon();
  if (addon === undefined) {
    whyNot = addonWhyNot;
    return null;
  }
  let info = addon.info();
  if (info === null) {
    whyNot = "no CBLAS library found (install OpenBLAS: apt-get install libopenblas0)";
    return null;
  }
  info = withChosenKernel(addon, info);
  const failed = selfTestFailure(addon);
  if (failed !== undefined) {
    whyNot = `the BLAS library ${info.library} failed its self-test (${failed}); using the wasm / JavaScript routes`;
    if (!process.env.LINEARITY_QUIET) process.stderr.write(`linearity-lab: notice: ${whyNot}\n`);
    return null;
  }
  const kernel = kernelOf(info);
  const lapack = lapackOf(addon);
  const qrFailed = QR_CALLS.every((c) => lapack[c] !== undefined) ? qrSelfTestFailure(addon) : undefined;
  if (qrFailed !== undefined) {
    // The products and the other solves stay native; the QR rescore takes its JavaScript route.
    for (const c of QR_CALLS) delete lapack[c];
    if (!process.env.LINEARITY_QUIET) process.stderr.write(`linearity-lab: notice: the LAPACK QR / SVD of ${info.library} failed its self-test (${qrFailed}); the QR rescore runs in JavaScript\n`);
  }
  return {
    description: `${info.library}${info.config ? ` (${info.config})` : ""}${describeKernel(kernel)}${info.threadTimeoutSet ? ", idle threads sleep at once (OPENBLAS_THREAD_TIMEOUT=4)" : ""}`,
    kernel,
    threads: () => addon.info()?.threads ?? 1,
    // Node-API functions do not use `this`: the addon's own functions serve as the methods.
    setThreads: addon.setThreads,
    gemm: addon.gemm,
    syrkUpper: addon.syrkUpper,
    lapack,
    memory: addonCalls!.memory,
    kernels: KERNEL_CALLS.every((c) => typeof addon[c] === "function") ? (addon as NativeKernels) : undefined,
    files: nativeFiles(),
  };
}

/**
 * Run the library once on small products whose answers JavaScript knows exactly (integers, so
 * float32 and float64 are exact): C = A B in sgemm and dgemm, and the Cholesky factor of a 3 x 3
 * positive definite matrix in dpotrf where the library has it. Returns what went wrong, or
 * undefined. Catches a library that crashes (reported by the addon's signal guard), one whose
 * products do nothing or compute something else, and a broken LAPACK.
 */
export function selfTestFailure(addon: Pick<Addon, "selfTest" | "has">): string | undefined {
  if (typeof addon.selfTest !== "function") return undefined; // an addon built before the self-test
  const a = [1, 2, 3, 4, 5, 6], b = [7, 8, 9, 10, 11, 12];
  const want = [58, 64, 139, 154]; // [[1,2,3],[4,5,6]] [[7,8],[9,10],[11,12]]
  const c32 = new Float32Array(4).fill(NaN), c64 = new Float64Array(4).fill(NaN);
  // [[4,2,2],[2,5,3],[2,3,6]] = L L^T with L = [[2,0,0],[1,2,0],[1,1,2]].
  const s64 = Float64Array.of(4, 2, 2, 2, 5, 3, 2, 3, 6);
  const crash = addon.selfTest(Float32Array.from(a), Float32Array.from(b), c32, Float64Array.from(a), Float64Array.from(b), c64, s64);
  if (crash !== null) return crash;
  const differs = (got: ArrayLike<number>, at: readonly number[], expected: readonly number[]) => at.findIndex((i, k) => got[i] !== expected[k]);
  const idx = [0, 1, 2, 3];
  let k = differs(c32, idx, want);
  if (k >= 0) return `cblas_sgemm gave ${c32[k]} where ${want[k]} is right`;
  k = differs(c64, idx, want);
  if (k >= 0) return `cblas_dgemm gave ${c64[k]} where ${want[k]} is right`;
  if (addon.has("potrfLower")) {
    const lower = [0, 3, 4, 6, 7, 8], l = [2, 1, 2, 1, 1, 2];
    k = differs(s64, lower, l);
    if (k >= 0) return `dpotrf_ gave ${s64[lower[k]]} where ${l[k]} is right`;
  }
  return undefined;
}

/**
 * The QR route's calls once on small matrices with known answers (within 1e-12: these are not
 * integer results): dgeqrf of A = [[3, 1], [4, 2], [0, 2]] gives |R11| = 5, R11 R12 = 11,
 * |R22| = sqrt(4.16); dormqr of A's second column gives (R12, R22, 0); dgesvd of [[3, 0], [4, 5]]
 * gives sqrt(45), sqrt(5) and U diag(s) Vt = the matrix. Returns what went wrong, or undefined.
 */
export function qrSelfTestFailure(addon: Pick<Addon, "selfTestQr">): string | undefined {
  if (typeof addon.selfTestQr !== "function") return "the addon has no QR self-test (rebuild it: npm run build:native)";
  const a = Float64Array.of(3, 4, 0, 1, 2, 2), tau = new Float64Array(2).fill(NaN), c = Float64Array.of(1, 2, 2);
  const s2 = Float64Array.of(3, 4, 0, 5), w = new Float64Array(2).fill(NaN), u = new Float64Array(4).fill(NaN), vt = new Float64Array(4).fill(NaN);
  const crash = addon.selfTestQr(a, tau, c, s2, w, u, vt);
  if (crash !== null) return crash;
  const near = (x: number, want: number) => Math.abs(x - want) <= 1e-12 * Math.max(1, Math.abs(want));
  if (!near(Math.abs(a[0]), 5) || !near(a[0] * a[3], 11) || !near(Math.abs(a[4]), Math.sqrt(4.16))) return `dgeqrf_ gave R = [[${a[0]}, ${a[3]}], [0, ${a[4]}]]`;
  if (!near(c[0], a[3]) || !near(c[1], a[4]) || !near(c[2], 0)) return `dormqr_ gave Q^T a2 = (${c[0]}, ${c[1]}, ${c[2]}) where (${a[3]}, ${a[4]}, 0) is right`;
  if (!near(w[0], Math.sqrt(45)) || !near(w[1], Math.sqrt(5))) return `dgesvd_ gave singular values ${w[0]}, ${w[1]} where ${Math.sqrt(45)}, ${Math.sqrt(5)} are right`;
  const want = [3, 4, 0, 5]; // column-major
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 2; j++) {
      const v = u[i] * w[0] * vt[j * 2] + u[2 + i] * w[1] * vt[j * 2 + 1];
      if (!near(v, want[j * 2 + i])) return `dgesvd_'s U diag(s) Vt gave ${v} at (${i}, ${j}) where ${want[j * 2 + i]} is right`;
    }
  }
  return undefined;
}

/** The CPU's flags from /proc/cpuinfo (Linux); empty elsewhere, which keeps OpenBLAS's own choice. */
function cpuFlags(): Set<string> {
  try {
    return cpuFlagsFromCpuinfo(fs.readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return new Set();
  }
}

/**
 * Where OpenBLAS fell back to its generic core and the user set no OPENBLAS_CORETYPE, reload it
 * with the kernel the CPU's flags allow. Worker threads share the one library, so they get the
 * same kernel; child processes inherit the OPENBLAS_CORETYPE the addon set.
 */
function withChosenKernel(addon: Addon, info: AddonInfo): AddonInfo {
  if (info.corename === undefined || typeof addon.reloadWithCore !== "function" || info.detected) return info;
  const decision = decideOpenblasKernel(info.corename, process.env.OPENBLAS_CORETYPE, cpuFlags());
  if (decision.action === "keep") return info;
  addon.reloadWithCore(decision.core);
  return addon.info() ?? info;
}

function kernelOf(info: AddonInfo): BlasKernel {
  const core = info.corename ?? "";
  if (info.detected) return { core, chosenBy: "cpu-flags", detected: info.detected };
  return { core, chosenBy: process.env.OPENBLAS_CORETYPE?.trim() ? "user" : "openblas" };
}

function describeKernel(kernel: BlasKernel): string {
  if (kernel.core === "") return "";
  if (kernel.chosenBy === "cpu-flags") return `, kernel ${kernel.core} chosen from the CPU flags (OpenBLAS detected ${kernel.detected}; OPENBLAS_CORETYPE set for child processes)`;
  if (kernel.chosenBy === "user") return `, kernel ${kernel.core} (your OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE})`;
  return `, kernel ${kernel.core} (OpenBLAS's detection)`;
}

/** The optional calls the loaded library provides (see {@link NativeBlas.lapack}). */
function lapackOf(addon: Addon): Partial<NativeLapack> {
  if (typeof addon.has !== "function") return {}; // an addon built before these calls existed
  return Object.fromEntries(LAPACK_CALLS.filter((call) => addon.has(call)).map((call) => [call, addon[call]])) as Partial<NativeLapack>;
}

/** The native BLAS, or undefined where it is unavailable (see {@link nativeBlasStatus} for why). */
export function nativeBlas(): NativeBlas | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

/** One line for logs: which BLAS is used, or why none is. */
export function nativeBlasStatus(): string {
  const blas = nativeBlas();
  return blas !== undefined ? `native BLAS ${blas.description}, ${blas.threads()} threads` : `no native BLAS: ${whyNot}`;
}
