/**
 * Crash-safe file writes: data goes to a temporary file in the destination's folder, is flushed
 * to disk (fsync), and only then renamed over the destination. A reader therefore sees either the
 * old file or the complete new one, never a half-written file, even if the process is killed.
 */
import * as fs from "fs";
import * as path from "path";
import { fsError } from "./errors";
import { processExists } from "./process";

/** Name of a fresh temporary file beside `dest` (same folder, so the rename is atomic). */
export function tempPathFor(dest: string): string {
  const rand = Math.random().toString(36).slice(2, 10);
  return path.join(path.dirname(dest), `.${path.basename(dest)}.tmp-${process.pid}-${rand}`);
}

/** True for names produced by {@link tempPathFor} (so cleaners can recognise orphans). */
export function isTempName(name: string): boolean {
  return /^\..+\.tmp-\d+-[0-9a-z]+$/.test(name);
}

/**
 * Temp names this project's writers leave when killed: `.NAME.tmp-PID-RAND` (tempPathFor),
 * `.NAME.tmp-PID` and `.NAME.old-PID` (folders written or replaced whole: checkpoints, models).
 */
const LEFTOVER = /^\..+\.(?:tmp|old)-(\d+)(?:-[0-9a-z]+)?$/;

/**
 * Delete the leftovers of killed writers in `dir` (not recursive): temp files and folders whose
 * process is gone, and those of this process (a recycled pid: call this before writing). Returns
 * the names removed. Temp files of another live process are kept. `only`: just the temps of
 * this file name. A `.NAME.old-PID` folder whose NAME is missing (a writer killed between the two
 * renames of a folder replacement, see atomic-folder.ts) is renamed back to NAME, not deleted.
 */
export function removeStaleTemps(dir: string, only?: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = LEFTOVER.exec(name);
    if (m === null || (only !== undefined && !name.startsWith(`.${only}.`))) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processExists(pid)) continue;
    const original = /^\.(.+)\.old-\d+$/.exec(name)?.[1];
    if (original !== undefined && !fs.existsSync(path.join(dir, original))) {
      fs.renameSync(path.join(dir, name), path.join(dir, original));
      continue;
    }
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** fsync a folder so a rename inside it survives a power cut (best effort: not all OSes allow it). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * A file being written under a temporary name. Call {@link write} any number of times, then
 * {@link commit} to publish it under its final name, or {@link abort} to remove it.
 * Use it for outputs too large to build in memory first.
 */
export class AtomicFileWriter {
  readonly dest: string;
  readonly tempPath: string;
  private fd: number | undefined;
  private position = 0;
  /** Where the file's bytes end: short of `position` after a trailing skip. */
  private fileEnd = 0;

  constructor(dest: string) {
    this.dest = dest;
    this.tempPath = tempPathFor(dest);
    try {
      this.fd = fs.openSync(this.tempPath, "wx");
    } catch (err) {
      throw fsError(dest, err, "write");
    }
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.position;
  }

  /** Append bytes (a typed array's underlying bytes are written, in host byte order). */
  write(data: string | ArrayBufferView): void {
    if (this.fd === undefined) throw new Error(`${this.dest}: write after commit/abort`);
    const bytes =
      typeof data === "string"
        ? Buffer.from(data, "utf8")
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    try {
      while (done < bytes.length) {
        done += fs.writeSync(this.fd, bytes, done, bytes.length - done, this.position + done);
      }
    } catch (err) {
      // A full disk or a failing device: drop the temp file now, so it does not fill the disk.
      this.abort();
      throw fsError(this.dest, err, "write");
    }
    this.position += bytes.length;
    this.fileEnd = this.position;
  }

  /** Append `count` zero bytes as a hole (a sparse file where the file system allows it): no data written. */
  skip(count: number): void {
    if (this.fd === undefined) throw new Error(`${this.dest}: skip after commit/abort`);
    if (!Number.isSafeInteger(count) || count < 0) throw new Error(`${this.dest}: skip needs a byte count >= 0, got ${count}`);
    this.position += count;
  }

  /** Flush, close and rename into place. */
  commit(): void {
    if (this.fd === undefined) throw new Error(`${this.dest}: commit after commit/abort`);
    const fd = this.fd;
    this.fd = undefined;
    try {
      // A trailing skip leaves the file short of its size: extend it (with a hole).
      if (this.fileEnd < this.position) fs.ftruncateSync(fd, this.position);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(this.tempPath, this.dest);
    } catch (err) {
      safeUnlink(this.tempPath);
      throw fsError(this.dest, err, "write");
    }
    fsyncDir(path.dirname(this.dest));
  }

  /** Close and delete the temporary file; the destination is left untouched. */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed or invalid: nothing left to release
      }
      this.fd = undefined;
    }
    safeUnlink(this.tempPath);
  }
}

/**
 * Write `data` to `dest` atomically (temp file in the same folder, fsync, rename).
 * `data` may be a string (UTF-8), a typed array, or a list of pieces written in order.
 */
export function writeFileAtomic(
  dest: string,
  data: string | ArrayBufferView | readonly (string | ArrayBufferView)[],
): void {
  writeAtomicWith(dest, (w) => {
    const pieces = Array.isArray(data) ? data : [data as string | ArrayBufferView];
    for (const p of pieces) w.write(p);
  });
}

/** Run `fill` against a temporary file and publish it as `dest` only if `fill` returns normally. */
export function writeAtomicWith<T>(dest: string, fill: (w: AtomicFileWriter) => T): T {
  const w = new AtomicFileWriter(dest);
  let result: T;
  try {
    result = fill(w);
  } catch (err) {
    w.abort();
    throw err;
  }
  w.commit();
  return result;
}

function safeUnlink(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    // the temp file may never have been created
  }
}
