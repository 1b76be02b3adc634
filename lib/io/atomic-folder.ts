/**
 * Folders that appear whole or not at all (model folders, checkpoints): every file is written
 * into `.NAME.tmp-PID` beside the destination, which is renamed to NAME once complete. Replacing
 * an existing folder takes two renames (NAME -> `.NAME.old-PID`, temp -> NAME; POSIX cannot swap
 * two non-empty folders in one), so a kill between them leaves no NAME but a complete
 * `.NAME.old-PID`: {@link recoverFolder}, called by the next writer of NAME, renames it back.
 * Either way a reader finds the old folder or the new one, never a mix of both. The next writer
 * also removes the temp folders of killed writers of the same NAME.
 */
import * as fs from "fs";
import * as path from "path";
import { fsyncDir, removeStaleTemps } from "./atomic";
import { mkdirp } from "./errors";
import { processExists } from "./process";

/** The temp folder name of `dir` for this process. */
export function folderTempPath(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.tmp-${process.pid}`);
}

/**
 * Undo a replacement that a killed writer left half done: when `dir` is missing and a
 * `.NAME.old-PID` of a process that is gone exists, rename it back to `dir`. Returns a sentence
 * saying so, or undefined when there was nothing to recover.
 */
export function recoverFolder(dir: string): string | undefined {
  if (fs.existsSync(dir)) return undefined;
  const parent = path.dirname(dir);
  const prefix = `.${path.basename(dir)}.old-`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || (pid !== process.pid && processExists(pid))) continue;
    fs.renameSync(path.join(parent, name), dir);
    fsyncDir(parent);
    return `${dir}: restored the folder a killed writer (process ${pid}) had moved aside to ${name}`;
  }
  return undefined;
}

/**
 * Write a folder's files into a temporary sibling with `fill(tmp)`, then rename it to `dir`,
 * replacing an existing `dir` (see the file comment). A `fill` that throws leaves `dir` as it
 * was and removes the temp folder.
 */
export function writeFolderAtomic(dir: string, fill: (tmp: string) => void): void {
  const parent = path.dirname(dir);
  mkdirp(parent);
  recoverFolder(dir);
  removeStaleTemps(parent, path.basename(dir)); // temp folders of killed writers of `dir`
  const tmp = folderTempPath(dir);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    fill(tmp);
    fsyncDir(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (fs.existsSync(dir)) {
    const old = path.join(parent, `.${path.basename(dir)}.old-${process.pid}`);
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(dir, old);
    fs.renameSync(tmp, dir);
    fsyncDir(parent);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, dir);
  }
  fsyncDir(parent);
}
