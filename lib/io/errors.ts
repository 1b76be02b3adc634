/**
 * File-system errors in the project's one-line form, `<file>: <what is wrong>`. Node's own
 * messages ("ENOSPC: no space left on device, write") name neither the file nor, sometimes, the
 * real cause (a recursive mkdir on a read-only file system reports ENOENT).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REASONS: Record<string, string> = {
  ENOENT: "no such file or folder",
  EISDIR: "is a folder, not a file",
  ENOTDIR: "a part of the path is a file, not a folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EEXIST: "already exists",
  EMFILE: "too many open files",
  EFBIG: "file too large for this file system",
  EIO: "input/output error (failing disk or network share?)",
  ENAMETOOLONG: "file name too long",
};

/** The code of a Node file-system error, if it is one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What went wrong, in words, with the code: "no space left on the device (ENOSPC)". */
export function describeFsError(err: unknown): string {
  const code = errnoCode(err);
  if (code === undefined) return err instanceof Error ? err.message : String(err);
  return REASONS[code] ? `${REASONS[code]} (${code})` : `${(err as Error).message.split(",")[0]}`;
}

/**
 * What errno number `errno` (from native code: 5, 28, ...) means, as {@link describeFsError} says
 * it for a Node error with that code: "input/output error (...) (EIO)".
 */
export function describeErrno(errno: number): string {
  const code = Object.entries(os.constants.errno).find(([, v]) => v === errno)?.[0];
  if (code === undefined) return `errno ${errno}`;
  return REASONS[code] ? `${REASONS[code]} (${code})` : code;
}

/** An Error `<file>: <cause>` for a failed file-system call on `file`. */
export function fsError(file: string, err: unknown, doing?: string): Error {
  const e = new Error(`${file}: ${doing ? `cannot ${doing}: ` : ""}${describeFsError(err)}`);
  (e as NodeJS.ErrnoException).code = errnoCode(err);
  return e;
}

/**
 * Create `dir` and its parents, with an error that names the real cause. Node reports ENOENT
 * for a recursive mkdir under a read-only mount; this finds the nearest existing ancestor and
 * says whether it is read-only or not writable.
 */
export function mkdirp(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    let at = path.resolve(dir);
    while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
    let cause = describeFsError(err);
    try {
      if (!fs.statSync(at).isDirectory()) cause = `${at} is a file, not a folder`;
      else fs.accessSync(at, fs.constants.W_OK);
    } catch (inner) {
      cause = `${at} is not writable: ${describeFsError(inner)}`;
    }
    if (errnoCode(err) === "ENOENT" && fs.existsSync(at) && fs.statSync(at).isDirectory()) {
      // Writable by permission bits yet mkdir failed: a read-only mount reports itself like this.
      const probe = path.join(at, `.linearity-write-probe-${process.pid}`);
      try {
        fs.mkdirSync(probe);
        fs.rmdirSync(probe);
      } catch (probeErr) {
        cause = `${at} is not writable: ${describeFsError(probeErr)}`;
      }
    }
    const e = new Error(`${dir}: cannot create the folder: ${cause}`);
    (e as NodeJS.ErrnoException).code = errnoCode(err);
    throw e;
  }
}
