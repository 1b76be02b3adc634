/**
 * Issue 9, item 13: messages that named neither the file nor the real cause. Each one now
 * reaches the user as one line, `linearity: <file>: <what is wrong>`, from a real process.
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeNpy } from "../../lib/io/npy";
import { errnoError, withFsFault } from "../io/fault";
import { runInProcess, spawnCli, tempDir, writeToyDataset } from "./helpers";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);

/** A version-1 .npy with the given header dict text. */
function rawNpy(name: string, dict: string, data = Buffer.alloc(0)): string {
  const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  const text = Buffer.from(dict + "\n", "latin1");
  head.writeUInt16LE(text.length, 8);
  fs.writeFileSync(file(name), Buffer.concat([head, text, data]));
  return file(name);
}

beforeAll(() => {
  writeNpy(file("x.npy"), { dtype: "float32", shape: [20, 3], data: Float32Array.from({ length: 60 }, (_, k) => Math.sin(k)) });
  const big = new Float64Array(60).map((_, k) => Math.cos(k));
  big[7 * 3 + 2] = 1e300;
  writeNpy(file("big64.npy"), { dtype: "float64", shape: [20, 3], data: big });
  fs.mkdirSync(file("folder.npy"));
  rawNpy("deep.npy", `{'descr': '<f4', 'fortran_order': False, 'shape': ${"(".repeat(20_000)}${")".repeat(20_000)}, }`);
  rawNpy("ctor.npy", "{'descr': 'constructor', 'fortran_order': False, 'shape': (20, 3), }", Buffer.alloc(240));
  const huge = "1" + "0".repeat(300);
  rawNpy("huge.npy", `{'descr': '<f4', 'fortran_order': False, 'shape': (${huge}, ${huge}, 0), }`);
});

describe("one line naming the file and the real cause", () => {
  it.each([
    ["folder.npy", "is a folder, not a .npy file"],
    ["deep.npy", "corrupt .npy header (nested deeper than 32 levels"],
    ["ctor.npy", "unsupported .npy dtype 'constructor'"],
    ["huge.npy", ".npy header has no valid 'shape' tuple"],
    ["big64.npy", "value 1e+300 at row 7, column 2 does not fit in float32"],
  ])("linearity score %s", async (name, what) => {
    const r = await runInProcess(["score", file(name), file("x.npy")]);
    expect(r.error?.startsWith(`${file(name)}: ${what}`)).toBe(true);
  });

  it("reaches the user as one line from a real process, exit status 1", () => {
    const r = spawnCli(["score", file("big64.npy"), file("x.npy")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toEqual([
      `linearity: ${file("big64.npy")}: value 1e+300 at row 7, column 2 does not fit in float32 (largest 3.4e+38)`,
    ]);
  });

  it("a full disk during export", async () => {
    const ds = file("ds");
    writeToyDataset(ds, 2, [5, 4], 3);
    const out = file("full.npy");
    const enospc = () => {
      throw errnoError("ENOSPC", "no space left on device", "write");
    };
    const r = await withFsFault("writeSync", enospc, () => runInProcess(["export", ds, "--state", "1", "--out", out]));
    expect(r.error).toBe(`${out}: cannot write: no space left on the device (ENOSPC)`);
    expect(fs.readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});
