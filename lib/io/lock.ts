/**
 * One writer per output folder. A writer (extract, train, prune) creates `.NAME.lock` beside its
 * output folder NAME with O_EXCL, holding its pid, host and command; a second writer finds it
 * and stops with a one-line error naming that process. The lock sits beside the folder, not in
 * it, so a folder replaced whole (prune) stays locked across the swap, and an empty output
 * folder stays empty.
 *
 * A lock whose process is gone (same host, pid not running) is taken over, and the taker says
 * so. A lock of another host cannot be checked and is refused with the command that clears it.
 * The lock's content is complete the moment it exists (see createWithContent). The lock is removed when the writer releases it, and on process exit (signals that end the
 * process through process.exit included); a SIGKILL leaves it behind, to be taken over.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeFsError } from "./errors";
import { processExists } from "./process";

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  started: string;
}

export interface OutputLock {
  /** The lock file. */
  readonly file: string;
  /** Set when a dead writer's lock was taken over: a sentence to show the user. */
  readonly tookOver?: string;
  /** Remove the lock (idempotent). */
  release(): void;
}

/** The lock file of output folder `dir`: `.NAME.lock` in its parent folder. */
export function lockPathFor(dir: string): string {
  const abs = path.resolve(dir);
  return path.join(path.dirname(abs), `.${path.basename(abs)}.lock`);
}

const held = new Set<string>();
let exitHookInstalled = false;

/**
 * Take the lock of output folder `dir` for `command` (e.g. "extract"), or throw
 * `<dir>: another linearity <command> (process P on HOST, since T) is writing it; ...`.
 * The parent folder is created if missing.
 */
export function acquireOutputLock(dir: string, command: string): OutputLock {
  const file = lockPathFor(dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), command, started: new Date().toISOString() };
  let tookOver: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      createWithContent(file, JSON.stringify(info) + "\n");
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`${file}: cannot create the lock file: ${describeFsError(err)}`);
      if (attempt >= 3) throw new Error(`${dir}: cannot take the lock ${file}: other writers keep taking it`);
    }
    const other = readLock(file);
    if (other === undefined) {
      if (!fs.existsSync(file)) continue; // released in between: try again
      throw new Error(`${file}: is not a lock this project wrote (unreadable); delete it if no linearity command is writing ${dir}`);
    }
    if (other.host !== os.hostname()) {
      throw new Error(
        `${dir}: locked by linearity ${other.command} (process ${other.pid} on host ${other.host}, since ${other.started}); if that process is gone, delete ${file}`,
      );
    }
    if (processExists(other.pid)) {
      throw new Error(
        `${dir}: another linearity ${other.command} (process ${other.pid}, since ${other.started}) is writing it; wait for it to finish or stop it, or choose another output`,
      );
    }
    // The owner is gone: move its lock aside under a name of our own (only one taker wins the
    // rename), check it is still the dead one, and create ours.
    const aside = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue; // another taker moved it first
    }
    const moved = readLock(aside);
    if (moved !== undefined && moved.pid !== other.pid && processExists(moved.pid)) {
      // A live writer's fresh lock: put it back and report it as busy.
      fs.renameSync(aside, file);
      throw new Error(`${dir}: another linearity ${moved.command} (process ${moved.pid}) is writing it; wait for it to finish, or choose another output`);
    }
    fs.rmSync(aside, { force: true });
    tookOver = `${dir}: took over the lock of linearity ${other.command} (process ${other.pid}, since ${other.started}), which is no longer running`;
  }
  held.add(file);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const f of held) removeIfOurs(f);
    });
  }
  let released = false;
  return {
    file,
    tookOver,
    release() {
      if (released) return;
      released = true;
      held.delete(file);
      removeIfOurs(file);
    },
  };
}

/**
 * Create `file` holding `text`, failing with EEXIST when it exists: the text goes to a private
 * temp file that is hard-linked to `file` (link is atomic and exclusive), so a lock is never seen
 * half-written. File systems without hard links get an O_EXCL create instead.
 */
function createWithContent(file: string, text: string): void {
  const temp = `${file}.new-${process.pid}`;
  fs.writeFileSync(temp, text);
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw err;
    fs.writeFileSync(file, text, { flag: "wx" });
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** The lock in `file`, or undefined when it is missing or unreadable (half-written). */
export function readLock(file: string): LockInfo | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
    return Number.isInteger(j.pid) && typeof j.host === "string" ? j : undefined;
  } catch {
    return undefined;
  }
}

function removeIfOurs(file: string): void {
  const l = readLock(file);
  if (l !== undefined && l.pid === process.pid && l.host === os.hostname()) fs.rmSync(file, { force: true });
}

/** Run `fn` holding the lock of `dir`; `say` receives the take-over notice, if any. */
export async function withOutputLock<T>(dir: string, command: string, fn: () => Promise<T> | T, say?: (m: string) => void): Promise<T> {
  const lock = acquireOutputLock(dir, command);
  if (lock.tookOver !== undefined) say?.(lock.tookOver);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
