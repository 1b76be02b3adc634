import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { npyRowReader, openNpy, readNpy, readNpyFloat32, readNpyInt32, readNpyRows, writeNpy, writeNpyEncoded, npyHeaderBytes } from "../../lib/io/npy";
import { encodeF16 } from "../../lib/io/f16";
import { FIXTURES, grid, tempDir } from "./helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const fx = (name: string) => path.join(FIXTURES, name);

describe("readNpy on files written by numpy", () => {
  it.each([
    ["f2_3x4.npy", "float16"],
    ["f4_3x4.npy", "float32"],
    ["f8_3x4.npy", "float64"],
    ["v2_f4_3x4.npy", "float32"],
    ["v3_f4_3x4.npy", "float32"],
  ])("%s", (name, dtype) => {
    const a = readNpy(fx(name));
    expect(a.dtype).toBe(dtype);
    expect(a.shape).toEqual([3, 4]);
    expect(Array.from(a.data)).toEqual(grid(3, 4));
  });

  it("reads header versions 1, 2, 3", () => {
    expect(openNpy(fx("f4_3x4.npy")).version).toBe(1);
    expect(openNpy(fx("v2_f4_3x4.npy")).version).toBe(2);
    expect(openNpy(fx("v3_f4_3x4.npy")).version).toBe(3);
  });

  it("reads integer files", () => {
    const want = [0, 1, -7, 256, 2 ** 31 - 1];
    expect(Array.from(readNpy(fx("i4_5.npy")).data)).toEqual(want);
    const i8 = readNpy(fx("i8_5.npy"));
    expect(i8.dtype).toBe("int64");
    expect(i8.data).toBeInstanceOf(Int32Array);
    expect(Array.from(i8.data)).toEqual(want);
    expect(Array.from(readNpy(fx("u1_4.npy")).data)).toEqual([0, 1, 128, 255]);
    expect(Array.from(readNpyInt32(fx("u1_4.npy")).data)).toEqual([0, 1, 128, 255]);
  });

  it("reads a 0-d array", () => {
    const a = readNpy(fx("scalar_f4.npy"));
    expect(a.shape).toEqual([]);
    expect(Array.from(a.data)).toEqual([2.5]);
  });
});

describe("readNpy errors name the file and the problem", () => {
  it.each([
    ["fortran_f4.npy", /fortran_f4\.npy: Fortran-order/],
    ["big_endian_f4.npy", /big_endian_f4\.npy: unsupported \.npy dtype '>f4' \(big-endian/],
    ["complex.npy", /complex\.npy: unsupported \.npy dtype '<c8'/],
    ["i8_big.npy", /i8_big\.npy: int64 value 1099511627776 at index 0 does not fit in int32/],
    ["missing.npy", /missing\.npy: no such file/],
  ])("%s", (name, msg) => {
    expect(() => readNpy(fx(name))).toThrow(msg);
  });

  it("rejects a file without the magic", () => {
    const p = path.join(dir, "notnpy.npy");
    fs.writeFileSync(p, "hello world, this is text");
    expect(() => readNpy(p)).toThrow(/notnpy\.npy: not a \.npy file/);
    fs.writeFileSync(p, "");
    expect(() => openNpy(p)).toThrow(/notnpy\.npy: not a \.npy file/);
  });

  it("rejects a truncated header and truncated data", () => {
    const full = fs.readFileSync(fx("f4_3x4.npy"));
    const p = path.join(dir, "trunc.npy");
    fs.writeFileSync(p, full.subarray(0, 40));
    expect(() => readNpy(p)).toThrow(/trunc\.npy: truncated \.npy header/);
    fs.writeFileSync(p, full.subarray(0, full.length - 1));
    expect(() => readNpy(p)).toThrow(/trunc\.npy: truncated \.npy data: shape \[3, 4\] <f4 needs 176 bytes, file has 175/);
    expect(() => openNpy(p)).toThrow(/truncated/);
  });

  it("rejects a corrupt header dict and unknown versions", () => {
    const p = path.join(dir, "corrupt.npy");
    const h = Buffer.from(npyHeaderBytes("float32", [2]));
    h.write("{'descr': '<f4', 'fortran_order': Flase", 10, "latin1");
    fs.writeFileSync(p, Buffer.concat([h, Buffer.alloc(8)]));
    expect(() => readNpy(p)).toThrow(/corrupt\.npy: corrupt \.npy header/);
    const noShape = Buffer.from(npyHeaderBytes("float32", [2]));
    noShape.write("{'descr': '<f4', 'fortran_order': False}", 10, "latin1");
    noShape.fill(" ", 10 + 40, noShape.length - 1);
    fs.writeFileSync(p, Buffer.concat([noShape, Buffer.alloc(8)]));
    expect(() => readNpy(p)).toThrow(/corrupt\.npy: \.npy header has no valid 'shape'/);
    const v9 = Buffer.from(npyHeaderBytes("float32", [2]));
    v9[6] = 9;
    fs.writeFileSync(p, Buffer.concat([v9, Buffer.alloc(8)]));
    expect(() => readNpy(p)).toThrow(/corrupt\.npy: unsupported \.npy format version 9\.0/);
  });

  it("readNpyInt32 refuses float data", () => {
    expect(() => readNpyInt32(fx("f4_3x4.npy"))).toThrow(/f4_3x4\.npy: expected an integer array \(int32\), got float32/);
  });
});

describe("writeNpy", () => {
  it("writes headers aligned to 64 bytes, byte-identical to numpy's for float32", () => {
    const p = path.join(dir, "same.npy");
    writeNpy(p, { dtype: "float32", shape: [3, 4], data: grid(3, 4) });
    expect(fs.readFileSync(p).equals(fs.readFileSync(fx("f4_3x4.npy")))).toBe(true);
    for (const shape of [[], [7], [2, 3, 4]]) {
      expect(npyHeaderBytes("float64", shape).length % 64).toBe(0);
    }
  });

  it("is byte-identical to numpy for float16, float64, int32, int64 and uint8", () => {
    const cases = [
      ["float16", [3, 4], grid(3, 4), "f2_3x4.npy"],
      ["float64", [3, 4], grid(3, 4), "f8_3x4.npy"],
      ["int32", [5], [0, 1, -7, 256, 2 ** 31 - 1], "i4_5.npy"],
      ["int64", [5], [0, 1, -7, 256, 2 ** 31 - 1], "i8_5.npy"],
      ["uint8", [4], [0, 1, 128, 255], "u1_4.npy"],
    ] as const;
    for (const [dtype, shape, data, ref] of cases) {
      const p = path.join(dir, `w-${dtype}.npy`);
      writeNpy(p, { dtype, shape, data });
      expect([dtype, fs.readFileSync(p).equals(fs.readFileSync(fx(ref)))]).toEqual([dtype, true]);
    }
  });

  it("round-trips random data for every dtype", () => {
    const vals = Float32Array.from({ length: 60 }, (_, k) => Math.sin(k * 1.7) * 100);
    for (const dtype of ["float32", "float64"] as const) {
      const p = path.join(dir, `rt-${dtype}.npy`);
      writeNpy(p, { dtype, shape: [6, 10], data: vals });
      const back = readNpyFloat32(p);
      expect(back.shape).toEqual([6, 10]);
      expect(Array.from(back.data)).toEqual(Array.from(vals));
    }
    const p16 = path.join(dir, "rt-f16.npy");
    writeNpy(p16, { dtype: "float16", shape: [60], data: vals });
    const back = readNpy(p16).data;
    for (let k = 0; k < 60; k++) expect(Math.abs(back[k] - vals[k])).toBeLessThanOrEqual(Math.abs(vals[k]) * 2 ** -11);
  });

  it("rejects bad input with the file name", () => {
    const p = path.join(dir, "bad.npy");
    expect(() => writeNpy(p, { dtype: "float32", shape: [2, 3], data: new Float32Array(5) })).toThrow(
      /bad\.npy: shape \[2, 3\] holds 6 values, data has 5/,
    );
    expect(() => writeNpy(p, { dtype: "int32", shape: [2], data: [1, 1.5] })).toThrow(/value 1.5 at index 1 is not a valid int32/);
    expect(() => writeNpy(p, { dtype: "uint8", shape: [1], data: Int32Array.of(300) })).toThrow(/value 300 at index 0 is not a valid uint8/);
    expect(() => writeNpy(p, { dtype: "float32", shape: [-1], data: [] })).toThrow(/invalid shape \[-1\]/);
    expect(() => writeNpy(p, { dtype: "complex64" as never, shape: [1], data: [1] })).toThrow(/unsupported dtype 'complex64'/);
    expect(() => writeNpy(path.join(dir, "nodir", "x.npy"), { dtype: "float32", shape: [1], data: [1] })).toThrow(
      /nodir.*x\.npy: cannot write: no such file or folder \(ENOENT\)/,
    );
    expect(fs.existsSync(p)).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});

describe("chunked row access", () => {
  it("openNpy reports dtype, shape and data offset; readNpyRows reads any row range", () => {
    for (const name of ["f2_3x4.npy", "f4_3x4.npy", "f8_3x4.npy", "v3_f4_3x4.npy"]) {
      const h = openNpy(fx(name));
      expect(h.shape).toEqual([3, 4]);
      expect(h.dataOffset).toBe(fs.statSync(fx(name)).size - 12 * h.itemSize);
      const all = grid(3, 4);
      expect(Array.from(readNpyRows(h, 1, 3))).toEqual(all.slice(4, 12));
      expect(Array.from(readNpyRows(h, 2, 2))).toEqual([]);
      const fd = fs.openSync(fx(name), "r");
      expect(Array.from(readNpyRows(h, 0, 1, fd))).toEqual(all.slice(0, 4));
      fs.closeSync(fd);
    }
  });

  it("npyRowReader gives readNpyRows' rows in one reused buffer, a shorter last chunk included", () => {
    const n = 37, d = 5;
    const data = Float64Array.from({ length: n * d }, (_, k) => Math.sin(k) * 1000);
    for (const dtype of ["float16", "float32", "float64"] as const) {
      const file = path.join(dir, `reader-${dtype}.npy`);
      writeNpy(file, { dtype, shape: [n, d], data });
      const h = openNpy(file), read = npyRowReader(h);
      const seen = new Set<ArrayBufferLike>();
      for (let s = 0; s < n; s += 8) {
        const e = Math.min(n, s + 8), rows = read(s, e);
        expect(rows.length).toBe((e - s) * d);
        expect(Array.from(rows)).toEqual(Array.from(readNpyRows(h, s, e)));
        seen.add(rows.buffer);
      }
      // float32 rows are views of the one buffer (5 chunks, one allocation); other dtypes convert.
      if (dtype === "float32") expect(seen.size).toBe(1);
      const a = read(0, 1), first = Array.from(a);
      read(1, 2);
      if (dtype === "float32") expect(Array.from(a)).not.toEqual(first); // overwritten: valid until the next call
      expect(() => read(30, 38)).toThrow(/rows 30\.\.38 out of range 0\.\.37/);
    }
  });

  it("rejects ranges outside the array and integer files", () => {
    const h = openNpy(fx("f4_3x4.npy"));
    expect(() => readNpyRows(h, 2, 4)).toThrow(/f4_3x4\.npy: rows 2\.\.4 out of range 0\.\.3/);
    expect(() => readNpyRows(h, -1, 1)).toThrow(/out of range/);
    expect(() => readNpyRows(openNpy(fx("i4_5.npy")), 0, 1)).toThrow(/i4_5\.npy: expected a float array, got int32/);
  });
});

describe("hostile .npy headers and values give one line naming the file", () => {
  /** A version-1 .npy file with the header dict text as given (no checks), then `data`. */
  function rawNpy(name: string, dict: string, data: Buffer = Buffer.alloc(0)): string {
    const head = Buffer.alloc(10);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
    const text = Buffer.from(dict + "\n", "latin1");
    head.writeUInt16LE(text.length, 8);
    const p = path.join(dir, name);
    fs.writeFileSync(p, Buffer.concat([head, text, data]));
    return p;
  }

  it("a deeply nested header is refused, not a stack overflow", () => {
    const deep = "(".repeat(20_000) + ")".repeat(20_000);
    const p = rawNpy("deep.npy", `{'descr': '<f4', 'fortran_order': False, 'shape': ${deep}, }`);
    expect(() => openNpy(p)).toThrow(/deep\.npy: corrupt \.npy header \(nested deeper than 32 levels/);
  });

  it("keys and descrs that name Object.prototype members are refused", () => {
    const ctor = rawNpy("ctor.npy", "{'descr': 'constructor', 'fortran_order': False, 'shape': (2,), }", Buffer.alloc(8));
    expect(() => openNpy(ctor)).toThrow(/ctor\.npy: unsupported \.npy dtype 'constructor'; expected one of/);
    const proto = rawNpy("proto.npy", "{'__proto__': {'shape': (1,)}, 'descr': '<f4', 'fortran_order': False, }", Buffer.alloc(4));
    expect(() => openNpy(proto)).toThrow(/proto\.npy: \.npy header has no valid 'shape' tuple/);
    const noShape = rawNpy("toString.npy", "{'descr': 'toString', 'fortran_order': False, 'shape': (1,), }", Buffer.alloc(4));
    expect(() => openNpy(noShape)).toThrow(/toString\.npy: unsupported \.npy dtype 'toString'/);
  });

  it("a shape whose size is not a safe integer is refused with the shape, not 'NaN bytes'", () => {
    const big = "1" + "0".repeat(300);
    const p = rawNpy("huge.npy", `{'descr': '<f4', 'fortran_order': False, 'shape': (${big}, ${big}, 0), }`);
    expect(() => openNpy(p)).toThrow(/huge\.npy: \.npy header has no valid 'shape' tuple/);
    const q = rawNpy("huge2.npy", `{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }`);
    expect(() => openNpy(q)).toThrow(/huge2\.npy: \.npy shape \[4294967296, 4294967296\] holds more elements than this reader can address/);
  });

  it("a finite float64 beyond float32's range is named with its value, row and column, not as Infinity", () => {
    const p = path.join(dir, "big64.npy");
    writeNpy(p, { dtype: "float64", shape: [2, 3], data: [0, 1, 2, 3, 1e300, 5] });
    const msg = /big64\.npy: value 1e\+300 at row 1, column 1 does not fit in float32 \(largest 3\.4e\+38\)/;
    expect(() => readNpyFloat32(p)).toThrow(msg);
    expect(() => readNpyRows(openNpy(p), 0, 2)).toThrow(msg);
    expect(Array.from(readNpyRows(openNpy(p), 0, 1))).toEqual([0, 1, 2]); // rows before it read fine
    // Real infinities and NaN pass through; the finite-value checks downstream report those.
    writeNpy(p, { dtype: "float64", shape: [2], data: [Infinity, NaN] });
    expect(Array.from(readNpyFloat32(p).data)).toEqual([Infinity, NaN]);
  });

  it("a folder in place of a file is named as such, not EISDIR", () => {
    const d = path.join(dir, "afolder.npy");
    fs.mkdirSync(d);
    expect(() => openNpy(d)).toThrow(/afolder\.npy: is a folder, not a \.npy file/);
    expect(() => readNpy(d)).toThrow(/afolder\.npy: is a folder, not a \.npy file/);
  });

  it("writeNpyEncoded writes encoded bytes as writeNpy would, atomically or in a published folder", () => {
    const d = path.join(dir, "encoded");
    fs.mkdirSync(d);
    const values = Float32Array.from({ length: 12 }, (_, i) => (i - 5) * 1.37);
    writeNpy(path.join(d, "ref.npy"), { dtype: "float16", shape: [3, 4], data: values });
    const bits = encodeF16(values, new Uint16Array(20)).subarray(0, 12); // a view into a larger buffer
    writeNpyEncoded(path.join(d, "a.npy"), "float16", [3, 4], bits);
    writeNpyEncoded(path.join(d, "b.npy"), "float16", [3, 4], bits, { inPublishedFolder: true });
    const ref = fs.readFileSync(path.join(d, "ref.npy"));
    expect(fs.readFileSync(path.join(d, "a.npy")).equals(ref)).toBe(true);
    expect(fs.readFileSync(path.join(d, "b.npy")).equals(ref)).toBe(true);
    expect(fs.readdirSync(d).sort()).toEqual(["a.npy", "b.npy", "ref.npy"]);
    expect(() => writeNpyEncoded(path.join(d, "c.npy"), "float16", [3, 4], bits.subarray(1))).toThrow(
      /c\.npy: shape \[3, 4\] of float16 takes 24 bytes, data has 22/,
    );
    // In place means created, never overwritten: a leftover is an error, not silently replaced.
    expect(() => writeNpyEncoded(path.join(d, "b.npy"), "float16", [3, 4], bits, { inPublishedFolder: true })).toThrow(/b\.npy/);
  });
});
