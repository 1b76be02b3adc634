import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { AtomicFileWriter, isTempName, writeAtomicWith, writeFileAtomic } from "../../lib/io/atomic";
import { tempDir } from "./helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it("writes strings, typed arrays and lists of pieces", () => {
    const p = path.join(dir, "a.bin");
    writeFileAtomic(p, "hello");
    expect(fs.readFileSync(p, "utf8")).toBe("hello");
    writeFileAtomic(p, Float32Array.of(1.5));
    expect(fs.readFileSync(p).readFloatLE(0)).toBe(1.5);
    writeFileAtomic(p, ["ab", Uint8Array.of(0x63), "d"]);
    expect(fs.readFileSync(p, "utf8")).toBe("abcd");
  });

  it("keeps the old file when the writer fails midway", () => {
    const p = path.join(dir, "keep.txt");
    writeFileAtomic(p, "old");
    expect(() =>
      writeAtomicWith(p, (w) => {
        w.write("partial new content");
        throw new Error("simulated crash");
      }),
    ).toThrow("simulated crash");
    expect(fs.readFileSync(p, "utf8")).toBe("old");
    expect(fs.readdirSync(dir).filter(isTempName)).toEqual([]);
  });

  it("publishes nothing until commit (a killed process leaves only a temp file)", () => {
    const p = path.join(dir, "late.txt");
    const w = new AtomicFileWriter(p);
    w.write("data");
    expect(fs.existsSync(p)).toBe(false);
    expect(isTempName(path.basename(w.tempPath))).toBe(true);
    expect(w.bytesWritten).toBe(4);
    w.commit();
    expect(fs.readFileSync(p, "utf8")).toBe("data");
    expect(() => w.write("more")).toThrow(/write after commit/);
    expect(() => w.commit()).toThrow(/commit after commit/);
  });

  it("abort removes the temp file", () => {
    const w = new AtomicFileWriter(path.join(dir, "ab.txt"));
    w.write("x");
    w.abort();
    expect(fs.existsSync(w.tempPath)).toBe(false);
    expect(fs.existsSync(path.join(dir, "ab.txt"))).toBe(false);
  });

  it("names the destination when the folder does not exist", () => {
    expect(() => writeFileAtomic(path.join(dir, "no", "x.txt"), "x")).toThrow(/cannot write .*no.x\.txt: ENOENT/);
  });

  it("recognises only its own temp names", () => {
    expect(isTempName(".x.npy.tmp-123-abc9")).toBe(true);
    expect(isTempName("x.npy")).toBe(false);
    expect(isTempName(".hidden")).toBe(false);
  });
});
