import { afterAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { acquireOutputLock, lockPathFor, readLock } from "../../lib/io/lock";
import { tempDir } from "./helpers";

const root = fs.realpathSync(tempDir("linearity-lock-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A pid that is not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("output locks", () => {
  it("the lock sits beside the folder, holds pid, host and command, and is removed on release", () => {
    const dir = path.join(root, "a");
    const lock = acquireOutputLock(dir, "extract");
    expect(lock.file).toBe(path.join(root, ".a.lock"));
    expect(readLock(lock.file)).toMatchObject({ pid: process.pid, host: os.hostname(), command: "extract" });
    expect(fs.existsSync(dir)).toBe(false);
    lock.release();
    expect(fs.existsSync(lock.file)).toBe(false);
  });

  it("a second writer is refused while the first holds the lock, naming it", () => {
    const dir = path.join(root, "b");
    const lock = acquireOutputLock(dir, "train");
    expect(() => acquireOutputLock(dir, "train")).toThrow(`${dir}: another linearity train (process ${process.pid}, since `);
    lock.release();
    acquireOutputLock(dir, "train").release();
  });

  it("a lock of a process that is gone is taken over, and said so", () => {
    const dir = path.join(root, "c");
    const pid = deadPid();
    fs.writeFileSync(lockPathFor(dir), JSON.stringify({ pid, host: os.hostname(), command: "prune", started: "then" }));
    const lock = acquireOutputLock(dir, "prune");
    expect(lock.tookOver).toBe(`${dir}: took over the lock of linearity prune (process ${pid}, since then), which is no longer running`);
    expect(readLock(lock.file)?.pid).toBe(process.pid);
    lock.release();
  });

  it("a lock of another host is refused with the file to delete; an unreadable one too", () => {
    const dir = path.join(root, "d");
    fs.writeFileSync(lockPathFor(dir), JSON.stringify({ pid: 1, host: "elsewhere", command: "extract", started: "then" }));
    expect(() => acquireOutputLock(dir, "extract")).toThrow(`if that process is gone, delete ${lockPathFor(dir)}`);
    fs.writeFileSync(lockPathFor(dir), "garbage");
    expect(() => acquireOutputLock(dir, "extract")).toThrow("is not a lock this project wrote");
  });

  it("a process that exits without releasing removes its lock; one killed leaves it, to be taken over", async () => {
    const dir = path.join(root, "e");
    const lockTs = path.join(__dirname, "../../lib/io/lock.ts");
    const script = `const { acquireOutputLock } = require(${JSON.stringify(lockTs)}); acquireOutputLock(${JSON.stringify(dir)}, "extract"); process.exit(3);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script]);
    expect(r.status).toBe(3);
    expect(fs.existsSync(lockPathFor(dir))).toBe(false);
    const child = spawn(process.execPath, ["--import", "tsx", "-e", `${script.replace("process.exit(3);", "")} setInterval(() => {}, 1000);`]);
    for (let i = 0; i < 200 && !fs.existsSync(lockPathFor(dir)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(() => acquireOutputLock(dir, "extract")).toThrow(`another linearity extract (process ${child.pid}`);
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const lock = acquireOutputLock(dir, "extract");
    expect(lock.tookOver).toContain(`process ${child.pid}`);
    lock.release();
  });
});
