import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { checkSafetensorsLayout, readSafetensors, writeSafetensors } from "../../lib/io/safetensors";
import { f32ToBf16Bits, f32ToF16Bits, bf16BitsToF32, f16BitsToF32 } from "../../lib/io/f16";
import { FIXTURES, grid, tempDir } from "./helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Build a safetensors file by hand from a header object and a data blob (independent of the writer). */
function handMade(name: string, header: unknown, data: Buffer, headerLenOverride?: number): string {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLenOverride ?? json.length));
  const p = path.join(dir, name);
  fs.writeFileSync(p, Buffer.concat([len, json, data]));
  return p;
}

describe("readSafetensors", () => {
  it("reads a hand-assembled file with every dtype and metadata", () => {
    const f = readSafetensors(path.join(FIXTURES, "mixed.safetensors"));
    expect(f.metadata).toEqual({ format: "pt", note: "hand-written" });
    expect(f.names).toEqual(["a.f32", "b.f16", "c.bf16", "d.f64", "e.i32", "f.i64"]);
    for (const n of ["a.f32", "b.f16", "c.bf16"]) {
      expect(f.tensors[n].shape).toEqual([3, 4]);
      expect(Array.from(f.tensors[n].data)).toEqual(grid(3, 4));
    }
    expect(f.tensors["b.f16"].dtype).toBe("F16");
    expect(Array.from(f.tensors["d.f64"].data)).toEqual([0.5, -3]);
    expect(Array.from(f.tensors["e.i32"].readInt32())).toEqual([1, -2, 3]);
    expect(Array.from(f.tensors["f.i64"].readInt32())).toEqual([5, -6]);
    expect(Array.from(f.tensors["f.i64"].read())).toEqual([5, -6]);
    expect(Array.from(f.tensors["b.f16"].readRange(5, 9))).toEqual(grid(3, 4).slice(5, 9));
    expect(Array.from(f.tensors["c.bf16"].readRange(4, 4))).toEqual([]);
    expect(() => f.tensors["c.bf16"].readRange(4, 13)).toThrow(/mixed\.safetensors: tensor 'c\.bf16': elements 4\.\.13 out of range 0\.\.12/);
    expect(() => f.tensors["a.f32"].readInt32()).toThrow(/mixed\.safetensors: tensor 'a\.f32' is F32, not an integer tensor/);
  });

  it("reads lazily: data comes from disk only when a tensor is used", () => {
    const p = path.join(dir, "lazy.safetensors");
    writeSafetensors(p, { a: { dtype: "F32", shape: [2], data: [1, 2] }, b: { dtype: "F32", shape: [2], data: [3, 4] } });
    const f = readSafetensors(p);
    // Overwrite b's bytes after opening: a lazy reader must see the new values.
    const buf = fs.readFileSync(p);
    buf.writeFloatLE(40, f.tensors.b.byteOffset + 4);
    fs.writeFileSync(p, buf);
    expect(Array.from(f.tensors.b.data)).toEqual([3, 40]);
    expect(f.tensors.a.byteLength).toBe(8);
  });

  it.each([
    ["tiny.safetensors", Buffer.alloc(5), /tiny\.safetensors: truncated safetensors file \(5 bytes, no header length\)/],
  ])("rejects %s", (name, bytes, msg) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    expect(() => readSafetensors(p)).toThrow(msg);
  });

  it("rejects a missing file", () => {
    expect(() => readSafetensors(path.join(dir, "nope.safetensors"))).toThrow(/nope\.safetensors: no such file/);
  });

  it("rejects headers that are cut off, too long, not JSON or not an object", () => {
    const ok = { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } };
    expect(() => readSafetensors(handMade("h1.safetensors", ok, Buffer.alloc(4), 500))).toThrow(
      /h1\.safetensors: truncated safetensors file: header needs 508 bytes, file has/,
    );
    expect(() => readSafetensors(handMade("h2.safetensors", ok, Buffer.alloc(4), 2 ** 40))).toThrow(
      /h2\.safetensors: corrupt safetensors header length/,
    );
    expect(() => readSafetensors(handMade("h3.safetensors", "{not json}", Buffer.alloc(0)))).toThrow(
      /h3\.safetensors: corrupt safetensors header: /,
    );
    expect(() => readSafetensors(handMade("h4.safetensors", "[1, 2]", Buffer.alloc(0)))).toThrow(
      /h4\.safetensors: corrupt safetensors header \(does not start with '\{'\)/,
    );
    expect(() => readSafetensors(handMade("h5.safetensors", { __metadata__: { a: 1 } }, Buffer.alloc(0)))).toThrow(
      /h5\.safetensors: corrupt safetensors header: __metadata__ must map strings to strings/,
    );
  });

  it("rejects bad entries: dtype, shape, offsets, span, overlap, truncation", () => {
    const cases: [unknown, number, RegExp][] = [
      [{ a: { dtype: "U8", shape: [1], data_offsets: [0, 1] } }, 1, /tensor 'a' has unsupported dtype "U8"/],
      [{ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4, /tensor 'a' has invalid shape \[-1\]/],
      [{ a: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, 4, /tensor 'a' has invalid data_offsets \[4,0\]/],
      [{ a: 7 }, 0, /tensor 'a' is not an object/],
      [{ a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, 12, /tensor 'a': shape \[2, 2\] F32 needs 16 bytes but data_offsets span 12/],
      [
        { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
        12,
        /tensor 'b' \(bytes 4\.\.12\) overlaps 'a'/,
      ],
      [{ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 15, /truncated safetensors file: tensor 'a' ends at data byte 16 but the file holds 15 data bytes/],
    ];
    cases.forEach(([header, size, msg], k) => {
      const p = handMade(`e${k}.safetensors`, header, Buffer.alloc(size));
      expect(() => readSafetensors(p)).toThrow(new RegExp(`e${k}\\.safetensors: .*${msg.source}`));
    });
  });
});

describe("readSafetensors refuses what the format's reference loader refuses", () => {
  const f32 = (begin: number) => ({ dtype: "F32", shape: [1], data_offsets: [begin, begin + 4] });

  it("refuses a tensor name given twice (JSON.parse would keep the last silently)", () => {
    const text = `{"a":${JSON.stringify(f32(0))},"b":${JSON.stringify(f32(4))},"a":${JSON.stringify(f32(4))}}`;
    expect(() => readSafetensors(handMade("dup.safetensors", text, Buffer.alloc(8)))).toThrow(
      /dup\.safetensors: corrupt safetensors header: tensor 'a' is listed twice/,
    );
    // A key that only appears inside a value is not a duplicate.
    const nested = `{"__metadata__":{"a":"x"},"a":${JSON.stringify(f32(0))}}`;
    expect(readSafetensors(handMade("nested.safetensors", nested, Buffer.alloc(4))).names).toEqual(["a"]);
  });

  it("refuses gaps between tensors and before the first one", () => {
    expect(() => readSafetensors(handMade("gap.safetensors", { a: f32(0), b: f32(8) }, Buffer.alloc(12)))).toThrow(
      /gap\.safetensors: corrupt safetensors header: tensor 'b' starts at data byte 8 but 'a' ends at 4 \(gap\)/,
    );
    expect(() => readSafetensors(handMade("gap0.safetensors", { a: f32(4) }, Buffer.alloc(8)))).toThrow(
      /gap0\.safetensors: corrupt safetensors header: tensor 'a' starts at data byte 4 but the data section starts at 0 \(gap\)/,
    );
  });

  it("refuses bytes after the last tensor", () => {
    expect(() => readSafetensors(handMade("tail.safetensors", { a: f32(0) }, Buffer.alloc(6)))).toThrow(
      /tail\.safetensors: corrupt safetensors file: 2 bytes after the last tensor \(the header describes 4 data bytes, the file holds 6\)/,
    );
    expect(() => readSafetensors(handMade("tail0.safetensors", {}, Buffer.alloc(3)))).toThrow(/3 bytes after the last tensor/);
  });

  it("refuses an array or null as __metadata__", () => {
    for (const [k, meta] of [[0, []], [1, null], [2, "x"]] as const) {
      expect(() => readSafetensors(handMade(`meta${k}.safetensors`, { __metadata__: meta }, Buffer.alloc(0)))).toThrow(
        new RegExp(`meta${k}\\.safetensors: corrupt safetensors header: __metadata__ must map strings to strings`),
      );
    }
  });

  it("checkSafetensorsLayout accepts every dtype of the format (a download may hold BOOL or U8 buffers) with the same layout rules", () => {
    const header = { mask: { dtype: "BOOL", shape: [3], data_offsets: [0, 3] }, q: { dtype: "F8_E4M3", shape: [1], data_offsets: [3, 4] }, w: f32(4) };
    const p = handMade("bool.safetensors", header, Buffer.alloc(8));
    expect(() => checkSafetensorsLayout(p)).not.toThrow();
    // BOOL is readable (GPT-NeoX's mask buffers); F8_E4M3 is only layout-checked.
    expect(() => readSafetensors(p)).toThrow(/bool\.safetensors: tensor 'q' has unsupported dtype "F8_E4M3"/);
    expect(() => checkSafetensorsLayout(handMade("bool-tail.safetensors", header, Buffer.alloc(9)))).toThrow(/1 bytes after the last tensor/);
    expect(() => checkSafetensorsLayout(handMade("bool-short.safetensors", header, Buffer.alloc(7)))).toThrow(/truncated safetensors file/);
    expect(() => checkSafetensorsLayout(handMade("c64.safetensors", { z: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)))).toThrow(
      /tensor 'z' has unsupported dtype "C64"/,
    );
  });

  it("still reads zero-length tensors sharing an offset, and every file this project ships", () => {
    const p = handMade("zeros.safetensors", { e: { dtype: "F32", shape: [0], data_offsets: [0, 0] }, a: f32(0), z: { dtype: "F16", shape: [0, 3], data_offsets: [4, 4] } }, Buffer.alloc(4));
    expect(readSafetensors(p).names).toEqual(["e", "a", "z"]);
    const root = path.join(__dirname, "..", "..", "data-samples");
    const shipped = [path.join(FIXTURES, "mixed.safetensors")];
    const walk = (d: string): void => {
      for (const n of fs.readdirSync(d)) {
        const q = path.join(d, n);
        if (fs.statSync(q).isDirectory()) walk(q);
        else if (n.endsWith(".safetensors")) shipped.push(q);
      }
    };
    if (fs.existsSync(root)) walk(root);
    for (const f of shipped) expect(readSafetensors(f).names.length).toBeGreaterThan(0);
  });
});

describe("writeSafetensors", () => {
  it("writes an 8-byte aligned header and data the format spec decodes", () => {
    const p = path.join(dir, "w.safetensors");
    const vals = [0.1, -2.5, 65504, 3e-7, 1e20, -0];
    writeSafetensors(
      p,
      {
        f32: { dtype: "F32", shape: [2, 3], data: Float32Array.from(vals) },
        f16: { dtype: "F16", shape: [6], data: vals },
        bf16: { dtype: "BF16", shape: [3, 2], data: vals },
        ids: { dtype: "I32", shape: [3], data: Int32Array.of(7, -1, 256) },
      },
      { format: "pt" },
    );
    const buf = fs.readFileSync(p);
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(header.f32).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
    expect(header.f16.data_offsets).toEqual([24, 36]);
    expect(header.bf16.data_offsets).toEqual([36, 48]);
    expect(header.ids.data_offsets).toEqual([48, 60]);
    // Decode the bytes directly per spec, not through the reader.
    const base = 8 + n;
    for (let k = 0; k < 6; k++) {
      expect(buf.readFloatLE(base + 4 * k)).toBe(Math.fround(vals[k]));
      expect(buf.readUInt16LE(base + 24 + 2 * k)).toBe(f32ToF16Bits(vals[k]));
      expect(buf.readUInt16LE(base + 36 + 2 * k)).toBe(f32ToBf16Bits(vals[k]));
    }
    expect([buf.readInt32LE(base + 48), buf.readInt32LE(base + 52), buf.readInt32LE(base + 56)]).toEqual([7, -1, 256]);
    // And the reader agrees.
    const f = readSafetensors(p);
    expect(Array.from(f.tensors.f16.data)).toEqual(vals.map((v) => f16BitsToF32(f32ToF16Bits(v))));
    expect(Array.from(f.tensors.bf16.data)).toEqual(vals.map((v) => bf16BitsToF32(f32ToBf16Bits(v))));
    expect(Array.from(f.tensors.ids.readInt32())).toEqual([7, -1, 256]);
  });

  it("writes empty tensors and no metadata", () => {
    const p = path.join(dir, "empty.safetensors");
    writeSafetensors(p, { e: { dtype: "F32", shape: [0, 5], data: [] } });
    const f = readSafetensors(p);
    expect(f.metadata).toBeUndefined();
    expect(f.tensors.e.shape).toEqual([0, 5]);
    expect(f.tensors.e.data.length).toBe(0);
  });

  it("rejects bad input and leaves no file behind", () => {
    const p = path.join(dir, "bad.safetensors");
    expect(() => writeSafetensors(p, { a: { dtype: "F32", shape: [2], data: [1] } })).toThrow(
      /tensor 'a' shape \[2\] holds 2 values, data has 1/,
    );
    expect(() => writeSafetensors(p, { a: { dtype: "I64" as never, shape: [1], data: [1] } })).toThrow(/tensor 'a' has unsupported dtype 'I64'/);
    expect(() => writeSafetensors(p, { a: { dtype: "F32", shape: [1.5], data: [1] } })).toThrow(/invalid shape/);
    expect(() => writeSafetensors(p, { a: { dtype: "I32", shape: [1], data: [0.5] } })).toThrow(/value 0.5 at index 0 is not an int32/);
    expect(() => writeSafetensors(p, { __metadata__: { dtype: "F32", shape: [1], data: [1] } })).toThrow(/not a valid tensor name/);
    expect(() => writeSafetensors(p, {}, { a: 3 as never })).toThrow(/metadata 'a' must be a string/);
    expect(fs.existsSync(p)).toBe(false);
    expect(fs.readdirSync(dir).filter((x) => x.includes(".tmp-"))).toEqual([]);
  });
});

describe("BOOL buffers (GPT-NeoX causal-mask `attention.bias`)", () => {
  it("reads a hand-made BOOL tensor and a scalar, as 0/1 floats", () => {
    const p = handMade("bool.safetensors", {
      mask: { dtype: "BOOL", shape: [1, 1, 2, 2], data_offsets: [0, 4] },
      scalar: { dtype: "F32", shape: [], data_offsets: [4, 8] },
    }, Buffer.concat([Buffer.from([1, 0, 1, 1]), Buffer.from(Float32Array.of(-1e9).buffer)]));
    const f = readSafetensors(p);
    expect(f.tensors.mask.dtype).toBe("BOOL");
    expect(Array.from(f.tensors.mask.read())).toEqual([1, 0, 1, 1]);
    expect(Array.from(f.tensors.scalar.read())).toEqual([-1e9]);
  });

  it("writes BOOL as one byte per element (nonzero = 1)", () => {
    const p = path.join(dir, "wbool.safetensors");
    writeSafetensors(p, { m: { dtype: "BOOL", shape: [3], data: [2, 0, -1] } });
    const buf = fs.readFileSync(p);
    const n = Number(buf.readBigUInt64LE(0));
    expect(JSON.parse(buf.subarray(8, 8 + n).toString()).m).toEqual({ dtype: "BOOL", shape: [3], data_offsets: [0, 3] });
    expect(Array.from(buf.subarray(8 + n))).toEqual([1, 0, 1]);
  });
});
