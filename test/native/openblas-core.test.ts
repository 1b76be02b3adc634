/**
 * The OpenBLAS kernel choice: the decision on made-up /proc/cpuinfo texts (any CPU), and the
 * reload on the real library in a child process that makes OpenBLAS start on its generic Prescott
 * core, as it does on virtual machines whose CPUID model is masked. The child part is skipped,
 * with a notice, where the addon or OpenBLAS (with openblas_get_corename) is missing.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { cpuFlagsFromCpuinfo, decideOpenblasKernel, isGenericOpenblasCore, nativeBlas, nativeBlasStatus, openblasCoreFromFlags } from "../../lib/native";

const SKYLAKE_VM = `processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl hypervisor
`;
const HASWELL = "flags : fpu sse sse2 pni ssse3 fma sse4_1 sse4_2 avx avx2 bmi2\n";
const SANDY = "flags : fpu sse sse2 pni ssse3 sse4_1 sse4_2 avx\n";
const OLD = "flags : fpu sse sse2 pni ssse3\n";
/** avx512f alone (no bw/vl/dq/cd) is not enough for OpenBLAS's SkylakeX kernels. */
const PARTIAL_512 = "flags : sse2 avx avx2 fma avx512f\n";

describe("OpenBLAS kernel decision (made-up CPUs)", () => {
  test("flags parse from the first flags line", () => {
    const f = cpuFlagsFromCpuinfo(SKYLAKE_VM);
    expect(f.has("avx512bw")).toBe(true);
    expect(f.has("hypervisor")).toBe(true);
    expect(cpuFlagsFromCpuinfo("model name : x\n").size).toBe(0);
  });
  test("kernel from flags", () => {
    expect(openblasCoreFromFlags(cpuFlagsFromCpuinfo(SKYLAKE_VM))).toBe("SKYLAKEX");
    expect(openblasCoreFromFlags(cpuFlagsFromCpuinfo(HASWELL))).toBe("HASWELL");
    expect(openblasCoreFromFlags(cpuFlagsFromCpuinfo(SANDY))).toBe("SANDYBRIDGE");
    expect(openblasCoreFromFlags(cpuFlagsFromCpuinfo(PARTIAL_512))).toBe("HASWELL");
    expect(openblasCoreFromFlags(cpuFlagsFromCpuinfo(OLD))).toBeUndefined();
  });
  test("only a generic detection is replaced, and a user's OPENBLAS_CORETYPE always wins", () => {
    const vm = cpuFlagsFromCpuinfo(SKYLAKE_VM);
    expect(isGenericOpenblasCore("Prescott")).toBe(true);
    expect(isGenericOpenblasCore("Zen")).toBe(false);
    expect(decideOpenblasKernel("Prescott", undefined, vm)).toEqual({ action: "reload", core: "SKYLAKEX" });
    expect(decideOpenblasKernel("Prescott", "", vm)).toEqual({ action: "reload", core: "SKYLAKEX" });
    expect(decideOpenblasKernel("Prescott", "PRESCOTT", vm)).toEqual({ action: "keep", why: "user" });
    expect(decideOpenblasKernel("Cooperlake", undefined, vm)).toEqual({ action: "keep", why: "detected" });
    expect(decideOpenblasKernel("Zen", undefined, cpuFlagsFromCpuinfo(HASWELL))).toEqual({ action: "keep", why: "detected" });
    expect(decideOpenblasKernel("Prescott", undefined, cpuFlagsFromCpuinfo(OLD))).toEqual({ action: "keep", why: "no-better-flags" });
  });
});

const blas = nativeBlas();
const hasCorename = blas !== undefined && blas.kernel.core !== "";
const flagsHere = fs.existsSync("/proc/cpuinfo") ? openblasCoreFromFlags(cpuFlagsFromCpuinfo(fs.readFileSync("/proc/cpuinfo", "utf8"))) : undefined;
if (!hasCorename || flagsHere === undefined) console.warn(`test/native/openblas-core.test.ts: real-library part SKIPPED (${nativeBlasStatus()}; kernel from this CPU's flags: ${flagsHere ?? "none"})`);

describe.skipIf(!hasCorename || flagsHere === undefined)("OpenBLAS kernel reload (real library, child process)", () => {
  test("a generic Prescott start is reloaded with the flags' kernel, in the main thread, a worker and child processes", () => {
    // The child loads the addon with OPENBLAS_CORETYPE=PRESCOTT (OpenBLAS's fallback on a masked
    // CPU), then removes the variable, so the library's start looks like its own generic detection.
    const root = path.join(__dirname, "..", "..");
    const script = `
      const path = require("node:path");
      const { Worker } = require("node:worker_threads");
      const { execFileSync } = require("node:child_process");
      const addon = require(path.join(${JSON.stringify(root)}, "native/build/Release/blas.node"));
      const before = addon.info().corename;
      delete process.env.OPENBLAS_CORETYPE;
      require("tsx/cjs");
      const { nativeBlas } = require(path.join(${JSON.stringify(root)}, "lib/native"));
      const b = nativeBlas();
      const A = new Float64Array([1, 2, 3, 4]), C = new Float64Array(4);
      b.gemm(false, false, 2, 2, 2, 1, A, 2, A, 2, 0, C, 2);
      const child = execFileSync(process.execPath, ["-e", "process.stdout.write(process.env.OPENBLAS_CORETYPE || '')"]).toString();
      const w = new Worker(\`
        require("tsx/cjs");
        const { nativeBlas } = require(${JSON.stringify(path.join(root, "lib/native"))});
        require("node:worker_threads").parentPort.postMessage(nativeBlas().kernel);
      \`, { eval: true });
      w.once("message", (workerKernel) => {
        console.log(JSON.stringify({ before, kernel: b.kernel, description: b.description, product: Array.from(C), child, workerKernel }));
        w.terminate();
      });
    `;
    const r = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, OPENBLAS_CORETYPE: "PRESCOTT" }, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(out.before).toBe("Prescott");
    expect(out.kernel.chosenBy).toBe("cpu-flags");
    expect(out.kernel.detected).toBe("Prescott");
    expect(out.kernel.core.toUpperCase()).toBe(flagsHere);
    expect(out.description).toContain(`kernel ${out.kernel.core} chosen from the CPU flags`);
    expect(out.product).toEqual([7, 10, 15, 22]);
    expect(out.child).toBe(flagsHere);
    expect(out.workerKernel).toEqual(out.kernel);
  });
});
