import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { readNpy } from "../../lib/io/npy";
import { f16BitsToF32, f32ToF16Bits } from "../../lib/io/f16";
import { writeNpy } from "../../lib/io/npy";
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { runInProcess, spawnCli, tempDir, writeToyDataset } from "./helpers";

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const D = 4;
const S = 3;
const LENGTHS = [11, 7, 9];
const N = LENGTHS.reduce((a, b) => a + b, 0);
const ds = path.join(root, "ds");
let states: Float32Array[];
const out = (name: string) => path.join(root, name);

beforeAll(() => {
  states = writeToyDataset(ds, S, LENGTHS, D);
});

describe("linearity export", () => {
  it("--state B writes [tokens, d_model] float32", async () => {
    for (let b = 0; b < S; b++) {
      const r = await runInProcess(["export", ds, "--state", String(b), "--out", out(`s${b}.npy`), "--rows", "5"]);
      expect(r.error).toBeUndefined();
      expect(r.stdout).toBe(`${out(`s${b}.npy`)}: state ${b}, float32 [tokens=${N}, d_model=${D}]\n`);
      const a = readNpy(out(`s${b}.npy`));
      expect([a.dtype, a.shape]).toEqual(["float32", [N, D]]);
      expect(Array.from(a.data)).toEqual(Array.from(states[b]));
    }
  });

  it("--dtype float16 keeps half precision", async () => {
    await runInProcess(["export", ds, "--state", "2", "--out", out("h.npy"), "--dtype", "float16"]);
    const a = readNpy(out("h.npy"));
    expect(a.dtype).toBe("float16");
    expect(Array.from(a.data)).toEqual(Array.from(states[2], (v) => f16BitsToF32(f32ToF16Bits(v))));
  });

  it("--ids writes int32 [tokens]", async () => {
    const r = await runInProcess(["export", ds, "--ids", "--out", out("ids.npy")]);
    expect(r.stdout).toBe(`${out("ids.npy")}: token ids, int32 [tokens=${N}]\n`);
    const a = readNpy(out("ids.npy"));
    expect([a.dtype, a.shape]).toEqual(["int32", [N]]);
    expect(Array.from(a.data)).toEqual(Array.from({ length: N }, (_, t) => 1000 + t));
  });

  it.each([
    [["DS", "--state", "3", "--out", "x.npy"], /state 3 out of range 0\.\.2 \(the dataset has 3 states\)/],
    [["DS", "--state", "-1", "--out", "x.npy"], /--state must be a non-negative integer, got '-1'/],
    [["DS", "--state", "1.5", "--out", "x.npy"], /--state must be a non-negative integer, got '1\.5'/],
    [["DS", "--out", "x.npy"], /give exactly one of --state B, --ids or --groups/],
    [["DS", "--state", "1", "--ids", "--out", "x.npy"], /give exactly one of --state B, --ids or --groups/],
    [["DS", "--state", "1", "--out", "x.npy", "--dtype", "bfloat16"], /--dtype must be float32 or float16, got 'bfloat16'/],
    [["DS", "--state", "1", "--out", "no/such/dir/x.npy"], /x\.npy: cannot write: no such file or folder \(ENOENT\)/],
    [["missing", "--ids", "--out", "x.npy"], /missing: no such folder/],
  ])("rejects %j and writes nothing", async (args, msg) => {
    const full = args.map((a) => (a === "DS" ? ds : a === "missing" || a.endsWith(".npy") ? out(a) : a));
    const r = await runInProcess(["export", ...full]);
    expect(r.error).toMatch(msg);
    expect(fs.existsSync(out("x.npy"))).toBe(false);
    expect(fs.readdirSync(root).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("the original layout has no token ids: one-line error from the process, exit status 1", () => {
    const orig = path.join(root, "orig");
    for (let b = 0; b < 2; b++) {
      fs.mkdirSync(path.join(orig, `block${b}`), { recursive: true });
      writeNpy(path.join(orig, `block${b}`, "s0.npy"), { dtype: "float32", shape: [N, D], data: states[b] });
    }
    const r = spawnCli(["export", orig, "--ids", "--out", out("x.npy")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toEqual([`linearity: ${orig}: has no token ids (the original block{b}/s{i} layout stores none)`]);
    expect(fs.existsSync(out("x.npy"))).toBe(false);
  });
});

describe("linearity export refuses to destroy data", () => {
  const manifest = () => fs.readFileSync(path.join(ds, "manifest.json"), "utf8");

  it("refuses --out inside a dataset folder (its own manifest.json included)", async () => {
    const before = manifest();
    for (const target of [path.join(ds, "manifest.json"), path.join(ds, "shards", "00000", "state_00.npy"), path.join(ds, "new.npy")]) {
      const r = await runInProcess(["export", ds, "--state", "1", "--out", target, "--force"]);
      expect(r.error).toBe(`${target}: is inside the dataset folder ${ds}; write the export outside it`);
    }
    const other = path.join(root, "other-ds");
    writeToyDataset(other, 2, [3], 2);
    const r = await runInProcess(["export", ds, "--ids", "--out", path.join(other, "ids.npy")]);
    expect(r.error).toBe(`${path.join(other, "ids.npy")}: is inside the dataset folder ${other}; write the export outside it`);
    expect(manifest()).toBe(before);
    expect(fs.existsSync(path.join(ds, "new.npy"))).toBe(false);
  });

  it("refuses to overwrite an existing file without --force, and a folder always", async () => {
    const target = out("kept.npy");
    fs.writeFileSync(target, "precious");
    for (const args of [["--state", "0"], ["--ids"]]) {
      const r = await runInProcess(["export", ds, ...args, "--out", target]);
      expect(r.error).toBe(`${target}: already exists; pass --force to overwrite it`);
    }
    expect(fs.readFileSync(target, "utf8")).toBe("precious");
    const r = await runInProcess(["export", ds, "--state", "0", "--out", target, "--force"]);
    expect(r.error).toBeUndefined();
    expect(readNpy(target).shape).toEqual([N, D]);
    fs.mkdirSync(out("a-folder.npy"));
    const f = await runInProcess(["export", ds, "--ids", "--out", out("a-folder.npy"), "--force"]);
    expect(f.error).toBe(`${out("a-folder.npy")}: is a folder; give a file name`);
  });

  it("--dtype float16 refuses values beyond 65504, naming state, row and column, and leaves nothing", async () => {
    const big = path.join(root, "big-ds");
    const w = HiddenStateWriter.open(big, { model: { name: "toy", family: "llama", n_layers: 1, d_model: 3 }, dtype: "float32" });
    const s1 = new Float32Array(4 * 3);
    s1[2 * 3 + 1] = -70000;
    w.append([{ tokenIds: Int32Array.of(1, 2) }, { tokenIds: Int32Array.of(3, 4) }], [new Float32Array(12), s1]);
    w.finish();
    const target = out("big16.npy");
    const r = await runInProcess(["export", big, "--state", "1", "--dtype", "float16", "--out", target, "--rows", "1"]);
    expect(r.error).toBe(`${big}: state 1 value -70000 at row 2, column 1 overflows float16 (max 65504); export as float32`);
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(root).filter((n) => n.includes(".tmp-"))).toEqual([]);
    const ok = await runInProcess(["export", big, "--state", "1", "--out", target]);
    expect(ok.error).toBeUndefined();
  });

  it("removes the temp files a killed export left beside its output", async () => {
    const dead = 2 ** 22 + 4242; // above the default pid_max: no such process
    const leftover = path.join(root, `.again.npy.tmp-${dead}-k1ll3d`);
    const unrelated = path.join(root, `.other.npy.tmp-${dead}-k1ll3d`);
    fs.writeFileSync(leftover, "half an export");
    fs.writeFileSync(unrelated, "not ours to judge");
    const r = await runInProcess(["export", ds, "--state", "1", "--out", out("again.npy")]);
    expect(r.error).toBeUndefined();
    expect(fs.existsSync(leftover)).toBe(false);
    expect(fs.existsSync(unrelated)).toBe(true);
    fs.rmSync(unrelated);
  });
});
