/**
 * Reading checkpoint tensors into float32 on several threads (native/read.c readFloat32, through
 * SafetensorsTensor.readFloat32Into): the values of SafetensorsTensor.read() for every stored
 * float dtype, any thread count, shares that cross pieces; file errors named; and the route
 * without the addon (read into the upper half, widened in place) giving the same values.
 * The native cases are skipped, with a notice, where the addon is unavailable.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeF16 } from "../../lib/io/f16";
import { readSafetensors, writeSafetensors, type SafetensorsFile } from "../../lib/io/safetensors";
import { nativeBlas, nativeBlasStatus } from "../../lib/native";

const memory = nativeBlas()?.memory;
const runs = memory?.readFloat32 !== undefined;
if (!runs) console.warn(`test/native/read-float32.test.ts: native cases SKIPPED, ${nativeBlas() === undefined ? nativeBlasStatus() : "the addon predates readFloat32 (npm run build:native)"}`);

/** Stored values per piece in native/read.c: the long tensors cross several. */
const PIECE = 65536;
const LONG = 2 * PIECE + 77;

let dir: string;
let st: SafetensorsFile;
const values = Float32Array.from({ length: LONG }, (_, i) => Math.sin(i) * 2 ** ((i % 30) - 15));
values[3] = -0;
values[4] = NaN;
values[5] = 1e-40; // subnormal in float32, zero in float16, kept by bfloat16's exponent
values[6] = -Infinity;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "read-float32-"));
  writeSafetensors(path.join(dir, "w.safetensors"), {
    bf16: { dtype: "BF16", shape: [LONG], data: values },
    f16: { dtype: "F16", shape: [LONG], data: values },
    f32: { dtype: "F32", shape: [LONG], data: values },
    short: { dtype: "BF16", shape: [3, 5], data: values.subarray(0, 15) },
    empty: { dtype: "F32", shape: [0], data: new Float32Array(0) },
    ints: { dtype: "I32", shape: [2], data: Int32Array.of(1, 2) },
  });
  st = readSafetensors(path.join(dir, "w.safetensors"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Same value at every index (NaN equals NaN; -0 differs from 0). */
function expectSameValues(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let first = -1;
  for (let i = 0; i < want.length && first < 0; i++) if (!Object.is(got[i], want[i])) first = i;
  expect(first, first < 0 ? "" : `index ${first}: ${got[first]} vs ${want[first]}`).toBe(-1);
}

describe.skipIf(!runs)("native readFloat32", () => {
  for (const name of ["bf16", "f16", "f32", "short"]) {
    it(`${name}: the values of read() on 1, 2, 3 and 5 threads`, () => {
      const t = st.tensors[name];
      const want = t.read();
      const code = { F32: 0, BF16: 1, F16: 2 }[t.dtype as "F32" | "BF16" | "F16"];
      for (const threads of [1, 2, 3, 5]) {
        const into = new Float32Array(want.length).fill(7);
        const fd = fs.openSync(st.path, "r");
        try {
          expect(memory!.readFloat32!(fd, t.byteOffset, code, into, threads)).toBe(0);
        } finally {
          fs.closeSync(fd);
        }
        expectSameValues(into, want);
      }
    });
  }

  it("F16: every bit pattern widens to decodeF16's value", () => {
    const file = path.join(dir, "bits.bin");
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    fs.writeFileSync(file, new Uint8Array(bits.buffer));
    const into = new Float32Array(65536);
    const fd = fs.openSync(file, "r");
    try {
      expect(memory!.readFloat32!(fd, 0, 2, into, 2)).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    expectSameValues(into, decodeF16(bits));
    expect(into[0x3c00]).toBe(1);
    expect(into[0x0001]).toBe(2 ** -24); // the smallest subnormal
    expect(into[0xfc00]).toBe(-Infinity);
  });

  it("reports the end of the file (-1) and a bad descriptor (its errno)", () => {
    const file = path.join(dir, "tiny.bin");
    fs.writeFileSync(file, new Uint8Array(10));
    const fd = fs.openSync(file, "r");
    try {
      expect(memory!.readFloat32!(fd, 4, 1, new Float32Array(4), 2)).toBe(-1); // 8 bytes wanted, 6 there
      expect(memory!.readFloat32!(fd, 2, 1, new Float32Array(4), 2)).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    expect(memory!.readFloat32!(fd, 0, 1, new Float32Array(4), 1)).toBe(os.constants.errno.EBADF);
    expect(() => memory!.readFloat32!(-1, 0, 1, new Float32Array(4), 1)).toThrow(/fd >= 0/);
    expect(() => memory!.readFloat32!(3, 0.5, 1, new Float32Array(4), 1)).toThrow(/whole position/);
    expect(() => memory!.readFloat32!(3, 0, 3, new Float32Array(4), 1)).toThrow(/dtype 0, 1 or 2/);
  });

  it("readFloat32Into names the file and tensor when the file was cut short", () => {
    const file = path.join(dir, "cut.safetensors");
    fs.copyFileSync(st.path, file);
    const cut = readSafetensors(file);
    const t = cut.tensors.f32;
    fs.truncateSync(file, t.byteOffset + 100);
    expect(() => t.readFloat32Into(new Float32Array(LONG))).toThrow(`${file}: tensor 'f32': unexpected end of file before byte ${t.byteOffset + t.byteLength}`);
  });
});

describe("SafetensorsTensor.readFloat32Into", () => {
  /** Run `fn` with the native reader taken away (the route of a machine without the addon). */
  function withoutNative(fn: () => void): void {
    const saved = memory?.readFloat32;
    if (memory !== undefined) delete (memory as { readFloat32?: unknown }).readFloat32;
    try {
      fn();
    } finally {
      if (memory !== undefined && saved !== undefined) (memory as { readFloat32?: unknown }).readFloat32 = saved;
    }
  }

  for (const route of ["this machine's route", "the route without the addon"]) {
    it(`${route}: the values of read() for BF16, F16, F32 and empty tensors`, () => {
      const check = () => {
        for (const name of ["bf16", "f16", "f32", "short", "empty"]) {
          const t = st.tensors[name];
          const into = new Float32Array(t.read().length).fill(7);
          t.readFloat32Into(into);
          expectSameValues(into, t.read());
        }
      };
      if (route === "this machine's route") check();
      else withoutNative(check);
    });
  }

  it("refuses integer tensors and a destination of the wrong length, naming both", () => {
    expect(() => st.tensors.ints.readFloat32Into(new Float32Array(2))).toThrow(`${st.path}: tensor 'ints' is I32: readFloat32Into reads F32, F16 and BF16 only`);
    expect(() => st.tensors.short.readFloat32Into(new Float32Array(14))).toThrow(`${st.path}: tensor 'short': readFloat32Into needs 15 values, got 14`);
  });
});
