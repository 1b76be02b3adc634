import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { recoverFolder, writeFolderAtomic } from "../../lib/io/atomic-folder";
import { removeStaleTemps } from "../../lib/io/atomic";
import { tempDir } from "./helpers";

const root = tempDir("linearity-afolder-");
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const DEAD = 2 ** 22 + 4242; // above Linux's default pid_max: no such process

const write = (dir: string, files: Record<string, string>) => {
  fs.mkdirSync(dir, { recursive: true });
  for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), t);
};
const listing = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, fs.readFileSync(path.join(dir, n), "utf8")]));

describe("writeFolderAtomic", () => {
  it("replaces a folder whole: files of the old one do not survive (issue 20 item 1's stale training.json)", () => {
    const dir = path.join(root, "m1");
    write(dir, { "config.json": "old", "training.json": "stale" });
    writeFolderAtomic(dir, (tmp) => write(tmp, { "config.json": "new" }));
    expect(listing(dir)).toEqual({ "config.json": "new" });
    expect(fs.readdirSync(root).filter((n) => n.startsWith(".m1"))).toEqual([]);
  });

  it("a fill that throws leaves the old folder and no temp", () => {
    const dir = path.join(root, "m2");
    write(dir, { "config.json": "old" });
    expect(() => writeFolderAtomic(dir, (tmp) => {
      write(tmp, { "model.safetensors": "half" });
      throw new Error("killed");
    })).toThrow("killed");
    expect(listing(dir)).toEqual({ "config.json": "old" });
    expect(fs.readdirSync(root).filter((n) => n.startsWith(".m2"))).toEqual([]);
  });

  it("a writer killed between its two renames: the next writer (or removeStaleTemps) restores the old folder", () => {
    const dir = path.join(root, "m3");
    write(path.join(root, `.m3.old-${DEAD}`), { "config.json": "old" });
    write(path.join(root, `.m3.tmp-${DEAD}`), { "config.json": "new, maybe incomplete" });
    expect(recoverFolder(dir)).toBe(`${dir}: restored the folder a killed writer (process ${DEAD}) had moved aside to .m3.old-${DEAD}`);
    expect(listing(dir)).toEqual({ "config.json": "old" });
    expect(recoverFolder(dir)).toBeUndefined();

    const dir4 = path.join(root, "m4");
    write(path.join(root, `.m4.old-${DEAD}`), { "config.json": "old" });
    removeStaleTemps(root);
    expect(listing(dir4)).toEqual({ "config.json": "old" });
    expect(fs.readdirSync(root).filter((n) => n.includes(String(DEAD)))).toEqual([]);
  });
});
