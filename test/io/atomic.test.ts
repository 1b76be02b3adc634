import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { AtomicFileWriter, isTempName, removeStaleTemps, writeAtomicWith, writeFileAtomic } from "../../lib/io/atomic";
import { mkdirp } from "../../lib/io/errors";
import { errnoError, withFsFault } from "./fault";
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

  it("skip leaves a hole of zeros, a trailing skip still gives the full size, and bad counts are refused", () => {
    const p = path.join(dir, "holes.bin");
    const w = new AtomicFileWriter(p);
    w.write(new Uint8Array([7]));
    w.skip(3);
    w.write(new Uint8Array([9]));
    w.skip(64 * 2 ** 20); // trailing: commit extends the file
    expect(() => w.skip(-1)).toThrow(/skip needs a byte count >= 0, got -1/);
    expect(w.bytesWritten).toBe(5 + 64 * 2 ** 20);
    w.commit();
    const st = fs.statSync(p);
    expect(st.size).toBe(5 + 64 * 2 ** 20);
    const head = new Uint8Array(fs.readFileSync(p).subarray(0, 8));
    expect([...head]).toEqual([7, 0, 0, 0, 9, 0, 0, 0]);
    // Sparse where the file system keeps holes (ext4, tmpfs, xfs): far fewer blocks than bytes.
    if (st.blocks !== undefined && st.blocks > 0) expect(st.blocks * 512).toBeLessThan(2 ** 20);
    expect(() => w.skip(1)).toThrow(/skip after commit/);
  });

  it("abort removes the temp file", () => {
    const w = new AtomicFileWriter(path.join(dir, "ab.txt"));
    w.write("x");
    w.abort();
    expect(fs.existsSync(w.tempPath)).toBe(false);
    expect(fs.existsSync(path.join(dir, "ab.txt"))).toBe(false);
  });

  it("names the destination when the folder does not exist", () => {
    expect(() => writeFileAtomic(path.join(dir, "no", "x.txt"), "x")).toThrow(/no.x\.txt: cannot write: no such file or folder \(ENOENT\)/);
  });

  it("recognises only its own temp names", () => {
    expect(isTempName(".x.npy.tmp-123-abc9")).toBe(true);
    expect(isTempName("x.npy")).toBe(false);
    expect(isTempName(".hidden")).toBe(false);
  });
});

describe("file-system failures name the file and the real cause", () => {
  it("a full disk: '<file>: cannot write: no space left on the device (ENOSPC)', temp file removed, old file kept", () => {
    const p = path.join(dir, "full.bin");
    writeFileAtomic(p, "old");
    const fail = () => {
      throw errnoError("ENOSPC", "no space left on device", "write");
    };
    expect(() => withFsFault("writeSync", fail, () => writeFileAtomic(p, "new content"))).toThrow(`${p}: cannot write: no space left on the device (ENOSPC)`);
    expect(fs.readFileSync(p, "utf8")).toBe("old");
    expect(fs.readdirSync(dir).filter((n) => isTempName(n))).toEqual([]);
  });

  it("a missing folder names the destination", () => {
    const p = path.join(dir, "no-such-folder", "x.bin");
    expect(() => writeFileAtomic(p, "x")).toThrow(`${p}: cannot write: no such file or folder (ENOENT)`);
  });

  it("mkdirp on a read-only mount reports EROFS, not Node's ENOENT", () => {
    const target = path.join(dir, "ro-mount", "a", "b");
    // Node's recursive mkdir reports ENOENT on a read-only file system; a plain mkdir says EROFS.
    const fake = (original: (...a: unknown[]) => unknown, ...args: unknown[]) => {
      const opts = args[1] as { recursive?: boolean } | undefined;
      if (String(args[0]).startsWith(dir + path.sep)) {
        throw opts?.recursive ? errnoError("ENOENT", "no such file or directory", `mkdir '${args[0]}'`) : errnoError("EROFS", "read-only file system", `mkdir '${args[0]}'`);
      }
      return original(...args);
    };
    expect(() => withFsFault("mkdirSync", fake, () => mkdirp(target))).toThrow(`${target}: cannot create the folder: ${dir} is not writable: read-only file system (EROFS)`);
    const file = path.join(dir, "plainfile");
    fs.writeFileSync(file, "x");
    expect(() => mkdirp(path.join(file, "sub"))).toThrow(`${path.join(file, "sub")}: cannot create the folder: ${file} is a file, not a folder`);
  });
});

describe("removeStaleTemps", () => {
  it("removes temp files and folders of processes that are gone (and of this process), keeps live ones and real files", () => {
    const d = path.join(dir, "stale");
    fs.mkdirSync(d);
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
    const live = process.ppid;
    const names = [
      `.x.npy.tmp-${dead}-abc123`, `.step-000010.tmp-${dead}`, `.step-000010.old-${dead}`, `.model.tmp-${process.pid}`,
      `.y.npy.tmp-${live}-zz9`, "x.npy", ".hidden", "step-000010",
    ];
    for (const n of names) (n.startsWith(".step") || n.startsWith(".model") ? fs.mkdirSync(path.join(d, n)) : fs.writeFileSync(path.join(d, n), "."));
    expect(removeStaleTemps(d).sort()).toEqual([`.model.tmp-${process.pid}`, `.step-000010.old-${dead}`, `.step-000010.tmp-${dead}`, `.x.npy.tmp-${dead}-abc123`]);
    expect(fs.readdirSync(d).sort()).toEqual([`.hidden`, `.y.npy.tmp-${live}-zz9`, "step-000010", "x.npy"]);
    expect(removeStaleTemps(path.join(dir, "missing"))).toEqual([]);
  });
});
