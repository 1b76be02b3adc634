/**
 * Issue 20, items 1-5 and 10, as a hostile user ran them: no command overwrites what it did not
 * make (prune, lens --json, eval --ids-out, extract, train), one writer per output folder, model
 * folders appear whole, and refused arguments leave nothing behind. Real processes are killed
 * where the issue killed them.
 */
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { extract } from "../../lib/extract/extract";
import { lockPathFor } from "../../lib/io/lock";
import { train } from "../../lib/train/loop";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../../lib/train/options";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";
import { runInProcess, writeToyDataset } from "./helpers";

let tmp: string;
let model: string; // 3-block byte-level Llama
let text: string;
const ENTRY = path.join(__dirname, "kill-entry.ts");

/** sha256 of every file under `dir`, by relative path. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile()) out[name] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
  }
  return out;
}

beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "linearity-nooverwrite-")));
  model = writeTinyCheckpoint(path.join(tmp, "model"), tinyHfConfig("llama", { n_layers: 3, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }), 3, {
    "generation_config.json": "{}\n",
  });
  text = path.join(tmp, "text.txt");
  fs.writeFileSync(text, "Nothing here may be overwritten by a command that did not write it. ".repeat(60));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const pruneArgs = (out: string, ...more: string[]) => [
  "prune", "--model", model, "--blocks", "1", "--select", "bi", "--replace", "remove", "--calibrate", text,
  "--calibrate-tokens", "256", "--seq-len", "64", "--out", out, ...more,
];

describe("prune --out (items 1 and 5)", () => {
  it("a symlink to the source model is refused before calibrating; the source is unchanged", async () => {
    const before = fingerprint(model);
    const link = path.join(tmp, "a-link");
    fs.symlinkSync(model, link);
    const r = await runInProcess(pruneArgs(link));
    expect(r.error).toBe(`${link}: is the model folder ${model} that this command reads; give --out a new folder`);
    expect(fingerprint(model)).toEqual(before);
    const inside = await runInProcess(pruneArgs(path.join(model, "pruned")));
    expect(inside.error).toBe(`${path.join(model, "pruned")}: is inside the model folder ${model}; write the output outside it`);
    expect(fingerprint(model)).toEqual(before);
  });

  it("another model folder is refused without --force; with --force it is replaced whole (no stale training.json)", async () => {
    const other = writeTinyCheckpoint(path.join(tmp, "other"), tinyHfConfig("llama", { n_layers: 5, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }), 9, {
      "training.json": "{\"stale\": true}\n",
    });
    const before = fingerprint(other);
    const r = await runInProcess(pruneArgs(other));
    expect(r.error).toBe(`${other}: already exists and was not written by this command; pass --force to replace it, or choose another --out`);
    expect(fingerprint(other)).toEqual(before);
    const forced = await runInProcess(pruneArgs(other, "--force"));
    expect(forced.error).toBeUndefined();
    expect(fs.readdirSync(other).sort()).toEqual(["config.json", "generation_config.json", "model.safetensors"]);
    expect(JSON.parse(fs.readFileSync(path.join(other, "config.json"), "utf8")).num_hidden_layers).toBe(2);
    // An earlier prune result is this command's own: replaced without --force.
    const again = await runInProcess(pruneArgs(other));
    expect(again.error).toBeUndefined();
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith(".other"))).toEqual([]);
  });

  it("an existing file as --out is a one-line error, not a raw EEXIST", async () => {
    const file = path.join(tmp, "a-file");
    fs.writeFileSync(file, "mine");
    const r = await runInProcess(pruneArgs(file, "--force"));
    expect(r.error).toBe(`${file}: exists and is not a folder; give --out a folder name`);
    expect(fs.readFileSync(file, "utf8")).toBe("mine");
  });

  it("killed while copying the tokenizer files: no --out at all; killed between the two renames of a re-prune: the old folder comes back", async () => {
    const out = path.join(tmp, "killed");
    const run = (kill: string) =>
      spawnSync(process.execPath, ["--import", "tsx", ENTRY, ...pruneArgs(out)], {
        encoding: "utf8", env: { ...process.env, LINEARITY_QUIET: "1", LINEARITY_TEST_KILL_AT: kill },
      });
    const first = run("copyFileSync:generation_config.json:1");
    expect(first.signal).toBe("SIGKILL");
    expect(fs.existsSync(out)).toBe(false); // weights without their tokenizer/config never appear
    expect(fs.existsSync(lockPathFor(out))).toBe(true); // a killed writer's lock stays, to be taken over
    const ok = run("");
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain(`took over the lock of linearity prune (process ${first.pid}`);
    const before = fingerprint(out);
    expect(Object.keys(before).sort()).toEqual(["config.json", "generation_config.json", "model.safetensors"]);

    const second = run("renameSync:killed:1"); // the temp folder's rename onto --out
    expect(second.signal).toBe("SIGKILL");
    expect(fs.existsSync(out)).toBe(false);
    const r = await runInProcess(["eval", "--model", out, "--text", text, "--max-tokens", "128", "--seq-len", "64"]);
    expect(r.error).toContain(`${out} does not exist`); // a missing folder, never a half model
    const third = run("");
    expect(third.status).toBe(0);
    expect(fingerprint(out)).toEqual(before); // same prune, same bytes
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith(".killed"))).toEqual([]);
  }, 120_000);
});

describe("lens --json and eval --ids-out (item 2)", () => {
  it("refuse a dataset's manifest.json and another model's weights, even with --force", async () => {
    const ds = path.join(tmp, "ds");
    writeToyDataset(ds, 3, [5, 4], 4);
    const dsBefore = fingerprint(ds);
    const target = path.join(ds, "manifest.json");
    const r = await runInProcess(["lens", "--model", model, "--text", text, "--json", target, "--force"]);
    expect(r.error).toBe(`${target}: is inside the dataset folder ${ds}; write the output outside it`);
    const other = writeTinyCheckpoint(path.join(tmp, "other2"), tinyHfConfig("llama", { n_layers: 1, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }));
    const otherBefore = fingerprint(other);
    const weights = path.join(other, "model.safetensors");
    const e = await runInProcess(["eval", "--model", model, "--text", text, "--max-tokens", "128", "--seq-len", "64", "--ids-out", weights, "--force"]);
    expect(e.error).toBe(`${weights}: is inside the model folder ${other}; write the output outside it`);
    expect(fingerprint(ds)).toEqual(dsBefore);
    expect(fingerprint(other)).toEqual(otherBefore);
  });

  it("refuse an existing file without --force, the --text file always; write it with --force", async () => {
    const ids = path.join(tmp, "ids.npy");
    fs.writeFileSync(ids, "mine");
    const args = ["eval", "--model", model, "--text", text, "--max-tokens", "128", "--seq-len", "64", "--ids-out"];
    expect((await runInProcess([...args, ids])).error).toBe(`${ids}: already exists; pass --force to overwrite it`);
    expect(fs.readFileSync(ids, "utf8")).toBe("mine");
    expect((await runInProcess([...args, text, "--force"])).error).toBe(`${text}: is the file ${text} that this command reads; give --ids-out a new file`);
    expect((await runInProcess([...args, ids, "--force"])).error).toBeUndefined();
    expect(fs.readFileSync(ids).subarray(1, 6).toString()).toBe("NUMPY");
    const json = path.join(tmp, "lens.json");
    fs.writeFileSync(json, "mine");
    const lens = ["lens", "--model", model, "--text", text, "--max-tokens", "128", "--seq-len", "64", "--json", json];
    expect((await runInProcess(lens)).error).toBe(`${json}: already exists; pass --force to overwrite it`);
    expect((await runInProcess([...lens, "--force"])).error).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(json, "utf8")).loss).toHaveLength(4);
  });
});

describe("one writer per folder (items 3 and 4)", () => {
  it("a second extract into a folder being written is refused; the first finishes a valid dataset", async () => {
    const out = path.join(tmp, "ds-two");
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "../extract/cli-entry.ts"), "extract", "--model", model, "--text", text,
      "--out", out, "--seq-len", "16", "--batch-size", "4", "--max-tokens", "400", "--workers", "0"], {
      env: { ...process.env, LINEARITY_QUIET: "1", LINEARITY_TEST_APPEND_DELAY_MS: "150", LINEARITY_NATIVE: "0" }, stdio: "ignore",
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    for (let i = 0; i < 600 && !fs.existsSync(path.join(out, "shards", "00001")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(path.join(out, "shards", "00001"))).toBe(true);
    await expect(extract({ model, text, out, seqLen: 16, batchSize: 8, maxTokens: 400 })).rejects.toThrow(
      `${out}: another linearity extract (process ${child.pid}, since `,
    );
    expect(await exited).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
    expect(m.complete).toBe(true);
    expect(m.n_tokens).toBe(400);
    for (const s of m.shards) expect(fs.existsSync(path.join(out, s.dir, "state_00.npy"))).toBe(true);
    expect(fs.existsSync(lockPathFor(out))).toBe(false);
  }, 120_000);

  it("extract takes over the lock of a writer that is gone, and says so", async () => {
    const out = path.join(tmp, "ds-stale");
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    fs.writeFileSync(lockPathFor(out), JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), command: "extract", started: "then" }));
    const notices: string[] = [];
    const r = await extract({ model, text, out, seqLen: 16, maxTokens: 64, onNotice: (m) => notices.push(m) });
    expect(r.complete).toBe(true);
    expect(notices).toEqual([`${out}: took over the lock of linearity extract (process ${dead.stdout}, since then), which is no longer running`]);
    expect(fs.existsSync(lockPathFor(out))).toBe(false);
  });

  it("a second train into a folder being trained is refused; a foreign folder needs --force", async () => {
    const out = path.join(tmp, "run");
    const opts: TrainOptions = {
      ...DEFAULT_TRAIN_OPTIONS, out, corpus: "test",
      model: { ...DEFAULT_TRAIN_OPTIONS.model, n_layers: 1, d_model: 16, n_heads: 2, n_kv_heads: 1, d_mlp: 32 },
      seqLen: 12, batchSize: 2, steps: 2, lr: 1e-2, minLr: 1e-3, warmup: 1,
      evalEvery: 2, evalSequences: 2, checkpointEvery: 2, keepCheckpoints: 0, finalEvalSequences: 0, snapshotSteps: [],
    };
    const texts = { train: ["the cat sat on the mat. ".repeat(10)], heldout: ["a dog sat on a log. ".repeat(4)] };
    // A live process (this test's parent) holds the lock, as a run started a moment earlier would.
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(lockPathFor(out), JSON.stringify({ pid: process.ppid, host: os.hostname(), command: "train", started: "now" }));
    await expect(train(opts, texts)).rejects.toThrow(`${out}: another linearity train (process ${process.ppid}, since now) is writing it`);
    fs.rmSync(lockPathFor(out));
    await train(opts, texts);
    expect(fs.existsSync(lockPathFor(out))).toBe(false);

    const foreign = path.join(tmp, "foreign");
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, "notes.txt"), "mine");
    await expect(train({ ...opts, out: foreign }, texts)).rejects.toThrow(`${foreign}: already exists and was not written by this command; pass --force`);
    await train({ ...opts, out: foreign }, texts, { force: true });
    expect(fs.readFileSync(path.join(foreign, "notes.txt"), "utf8")).toBe("mine");
  }, 120_000);
});

describe("refused arguments leave nothing behind (item 10)", () => {
  it("extract --seq-len 1 and --spread --max-tokens 1 write no manifest; the corrected retry works", async () => {
    const out = path.join(tmp, "refused");
    await expect(extract({ model, text, out, seqLen: 1 })).rejects.toThrow("'seqLen' 1 leaves no room for a token after BOS; give at least 2");
    await expect(extract({ model, text, out, seqLen: 16, spread: true, maxTokens: 1 })).rejects.toThrow("'maxTokens' 1 leaves no room for a token after BOS");
    expect(fs.existsSync(out)).toBe(false);
    const r = await runInProcess(["extract", "--model", model, "--text", text, "--out", out, "--seq-len", "1", "--workers", "0"]);
    expect(r.error).toBe("extract: --seq-len 1 leaves no room for a token after BOS; give at least 2");
    const empty = path.join(tmp, "empty.txt");
    fs.writeFileSync(empty, "");
    await expect(extract({ model, text: empty, out, seqLen: 16 })).rejects.toThrow("is empty; there is nothing to extract");
    expect(fs.existsSync(out)).toBe(false);
    const ok = await extract({ model, text, out, seqLen: 16, spread: true, maxTokens: 64 });
    expect(ok.complete).toBe(true);
  });

  it("extract into the model folder, or into the text's folder when that is a dataset, is refused", async () => {
    await expect(extract({ model, text, out: path.join(model, "states"), seqLen: 16 })).rejects.toThrow("is inside the model folder");
    expect(fs.existsSync(path.join(model, "states"))).toBe(false);
  });
});
