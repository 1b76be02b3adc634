/**
 * The addon's memory calls (reading weights, float16 encoding, the NaN scan) need no BLAS
 * library: in a fresh process, using them maps none (read from /proc/self/maps), and the BLAS is
 * mapped once a product asks for it (so the check can fail). Skipped, with a notice, without the
 * addon or /proc.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { nativeBlas, nativeBlasStatus, nativeMemory } from "../../lib/native";

const ROOT = path.resolve(__dirname, "../..");
const runs = nativeMemory()?.readFloat32 !== undefined && fs.existsSync("/proc/self/maps");
if (!runs) console.warn(`test/native/memory-without-blas.test.ts: SKIPPED, ${fs.existsSync("/proc/self/maps") ? nativeBlasStatus() : "no /proc/self/maps"}`);

const SCRIPT = `
const fs = require("fs"), os = require("os"), path = require("path");
const { encodeF16Checked } = require("./lib/io/f16");
const { checkFinite } = require("./lib/numerics/check");
const { readSafetensors, writeSafetensors } = require("./lib/io/safetensors");
const blasMapped = () => /lib(open)?c?blas/.test(fs.readFileSync("/proc/self/maps", "utf8"));
const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
const out = new Uint16Array(1000);
const bad = encodeF16Checked(values, out);
checkFinite("test", "values", values);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "no-blas-"));
writeSafetensors(path.join(dir, "w.safetensors"), { w: { dtype: "BF16", shape: [1000], data: values } });
const into = new Float32Array(1000);
readSafetensors(path.join(dir, "w.safetensors")).tensors.w.readFloat32Into(into);
fs.rmSync(dir, { recursive: true, force: true });
const before = blasMapped();
const blas = require("./lib/native/blas").nativeBlas();
console.log(JSON.stringify({ bad, first: out[1], read: into[1], before, after: blasMapped(), blas: blas !== undefined }));
`;

describe.skipIf(!runs)("native memory calls without the BLAS", () => {
  it("encode, scan and read weights without mapping a BLAS library; a product maps it", () => {
    const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
    const r = spawnSync(tsx, ["-e", SCRIPT], { cwd: ROOT, encoding: "utf8", env: { ...process.env, LINEARITY_QUIET: "1" } });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split("\n").pop()!) as { bad: number; first: number; read: number; before: boolean; after: boolean; blas: boolean };
    expect(got.bad).toBe(-1);
    expect(got.first).toBe(0x3abb); // float16 bits of sin(1) = 0.84147...
    expect(Math.abs(got.read - Math.sin(1))).toBeLessThan(2 ** -8); // bfloat16 keeps 8 significant bits
    expect(got.before).toBe(false);
    // The positive control: where this process has a BLAS, loading it maps the library.
    if (nativeBlas() !== undefined) expect(got.after && got.blas).toBe(true);
  });
});
