import { afterAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { guardOutput, realPathOf } from "../../lib/io/output-guard";
import { tempDir } from "./helpers";

const root = fs.realpathSync(tempDir("linearity-guard-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const at = (...p: string[]) => path.join(root, ...p);

function modelFolder(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), "{}");
  fs.writeFileSync(path.join(dir, "model.safetensors"), "x");
  return dir;
}
function datasetFolder(dir: string): string {
  fs.mkdirSync(path.join(dir, "shards"), { recursive: true });
  fs.writeFileSync(path.join(dir, "manifest.json"), "{}");
  return dir;
}

describe("guardOutput: files", () => {
  it("a new file passes and comes back as its real path", () => {
    expect(guardOutput(at("new.npy"), { kind: "file", flag: "--out" })).toEqual({ path: at("new.npy"), exists: false });
  });

  it("an existing file is refused without force, allowed with it; a folder is refused always", () => {
    fs.writeFileSync(at("kept.npy"), "precious");
    expect(() => guardOutput(at("kept.npy"), { kind: "file", flag: "--json" })).toThrow(`${at("kept.npy")}: already exists; pass --force to overwrite it`);
    expect(guardOutput(at("kept.npy"), { kind: "file", flag: "--json", force: true }).exists).toBe(true);
    fs.mkdirSync(at("dir.npy"));
    expect(() => guardOutput(at("dir.npy"), { kind: "file", flag: "--out", force: true })).toThrow("is a folder; give a file name");
  });

  it("never inside a dataset or model folder, with or without force, even one it does not read", () => {
    const ds = datasetFolder(at("ds"));
    const model = modelFolder(at("model"));
    expect(() => guardOutput(path.join(ds, "manifest.json"), { kind: "file", flag: "--json", force: true })).toThrow(
      `${path.join(ds, "manifest.json")}: is inside the dataset folder ${ds}; write the output outside it`,
    );
    expect(() => guardOutput(path.join(model, "model.safetensors"), { kind: "file", flag: "--ids-out", force: true })).toThrow(
      "is inside the model folder",
    );
    expect(() => guardOutput(path.join(model, "sub", "x.npy"), { kind: "file", flag: "--ids-out" })).toThrow("is inside the model folder");
  });

  it("a file the command reads is refused (its --text), also through a symlink", () => {
    fs.writeFileSync(at("text.txt"), "hello");
    fs.symlinkSync(at("text.txt"), at("text-link.json"));
    for (const t of [at("text.txt"), at("text-link.json")]) {
      expect(() => guardOutput(t, { kind: "file", flag: "--json", force: true, reads: [at("text.txt")] })).toThrow(
        `${t}: is the file ${at("text.txt")} that this command reads; give --json a new file`,
      );
    }
  });

  it("a symlink to a file elsewhere resolves to that file; a dangling link is refused", () => {
    fs.writeFileSync(at("real.json"), "{}");
    fs.symlinkSync(at("real.json"), at("link.json"));
    expect(() => guardOutput(at("link.json"), { kind: "file", flag: "--json" })).toThrow("already exists");
    expect(guardOutput(at("link.json"), { kind: "file", flag: "--json", force: true }).path).toBe(at("real.json"));
    fs.symlinkSync(at("missing-target"), at("dangling.json"));
    expect(() => guardOutput(at("dangling.json"), { kind: "file", flag: "--json", force: true })).toThrow(
      `${at("dangling.json")}: is a symbolic link to a missing file (${at("missing-target")}); give a real path`,
    );
  });
});

describe("guardOutput: folders", () => {
  it("a missing or empty folder passes; a non-empty one needs ownFolder or force", () => {
    expect(guardOutput(at("f-new"), { kind: "folder", flag: "--out" }).exists).toBe(false);
    fs.mkdirSync(at("f-empty"));
    expect(guardOutput(at("f-empty"), { kind: "folder", flag: "--out" }).exists).toBe(true);
    fs.mkdirSync(at("f-full"));
    fs.writeFileSync(at("f-full", "notes.txt"), "mine");
    expect(() => guardOutput(at("f-full"), { kind: "folder", flag: "--out" })).toThrow(
      `${at("f-full")}: already exists and was not written by this command; pass --force to replace it, or choose another --out`,
    );
    expect(() => guardOutput(at("f-full"), { kind: "folder", flag: "--out", forceFlag: null })).toThrow(
      `${at("f-full")}: already exists and was not written by this command; choose another --out`,
    );
    expect(guardOutput(at("f-full"), { kind: "folder", flag: "--out", ownFolder: (d) => fs.existsSync(path.join(d, "notes.txt")) }).exists).toBe(true);
    expect(guardOutput(at("f-full"), { kind: "folder", flag: "--out", force: true }).exists).toBe(true);
    expect(() => guardOutput(at("kept.npy"), { kind: "folder", flag: "--out", force: true })).toThrow("exists and is not a folder");
  });

  it("the source model, a link to it, a folder inside it or one holding it are refused even with force (issue 20 item 1)", () => {
    const src = modelFolder(at("src-model"));
    fs.symlinkSync(src, at("src-link"));
    const opts = { kind: "folder" as const, flag: "--out", force: true, reads: [src] };
    expect(() => guardOutput(src, opts)).toThrow(`${src}: is the model folder ${src} that this command reads; give --out a new folder`);
    expect(() => guardOutput(at("src-link"), opts)).toThrow(`${at("src-link")}: is the model folder ${src} that this command reads`);
    expect(() => guardOutput(path.join(src, "pruned"), opts)).toThrow(`is inside the model folder ${src}; write the output outside it`);
    expect(() => guardOutput(root, opts)).toThrow(`${root}: holds the model folder ${src} that this command reads; give --out a new folder`);
    // Through a link to the parent folder, too.
    fs.symlinkSync(root, at("root-link"));
    expect(() => guardOutput(path.join(at("root-link"), "src-model"), opts)).toThrow("that this command reads");
  });

  it("another model folder is refused without force (its stale files would mix with the new ones)", () => {
    const other = modelFolder(at("other-model"));
    expect(() => guardOutput(other, { kind: "folder", flag: "--out" })).toThrow("already exists and was not written by this command");
  });

  it("realPathOf keeps the missing tail and resolves links above it", () => {
    fs.mkdirSync(at("deep"));
    fs.symlinkSync(at("deep"), at("deep-link"));
    expect(realPathOf(path.join(at("deep-link"), "a", "b"))).toBe(path.join(at("deep"), "a", "b"));
  });

  it("an empty name is refused", () => {
    expect(() => guardOutput(" ", { kind: "file", flag: "--json" })).toThrow("--json: empty file name");
  });
});
