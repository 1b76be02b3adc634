/**
 * The one rule every command that writes follows before it writes anything:
 *
 * 1. **Never inside what it reads.** The output may not be, lie inside, or contain a file or
 *    folder the command reads (its `--model` folder, its dataset, its `--text` file), and never
 *    lies inside any dataset folder (manifest.json + shards/) or model folder (config.json +
 *    *.safetensors), whatever the command. `--force` does not lift this.
 * 2. **Never over what it did not make.** An existing file, or a non-empty folder that
 *    `ownFolder` does not recognise as this command's own output (a dataset to resume, a run
 *    folder to continue, an earlier `prune` result), is refused unless `force` (`--force`).
 * 3. **Symlinks resolved.** Both rules apply to the real paths, so a link to the source model
 *    is the source model. A dangling link is refused (writing through it would create a file
 *    somewhere the user did not name).
 *
 * Call it before the long work (loading, calibrating), and write to the returned `path`:
 *
 * ```ts
 * import { guardOutput } from "../io/output-guard";
 * const out = guardOutput(flags.json, { kind: "file", flag: "--json", force: flags.force, reads: [modelDir, textFile] });
 * // ... compute ...
 * writeFileAtomic(out.path, json);
 * ```
 *
 * Errors are one line, `<target as given>: <what is wrong>; <what to do>`.
 */
import * as fs from "fs";
import * as path from "path";

export interface OutputGuardOptions {
  /** A single file (written whole, e.g. .npy / .json) or a folder (dataset, model, run). */
  kind: "file" | "folder";
  /** The option naming the target in messages, e.g. "--out", "--json", "--ids-out". */
  flag: string;
  /** Overwrite (file) or replace / write into (folder) an existing target this command did not make. */
  force?: boolean;
  /**
   * The option that sets `force`, named in the refusal; null when the command has none (the
   * message then asks for another target). Default "--force".
   */
  forceFlag?: string | null;
  /** Files and folders the command reads; missing ones are ignored. */
  reads?: readonly (string | undefined)[];
  /** For folders: true when the existing folder (real path) is this command's own output. */
  ownFolder?: (realDir: string) => boolean;
  /** How the output is named in the "inside a dataset" message (default "the output"). */
  what?: string;
}

export interface GuardedOutput {
  /** The real absolute path to write to (symlinks resolved; the missing tail kept as given). */
  readonly path: string;
  /** True when the target already exists (an allowed file overwrite or own / empty folder). */
  readonly exists: boolean;
}

/**
 * Check `target` against the rules in the file comment; throws a one-line error, else returns
 * the real path to write to. Reads the file system only.
 */
export function guardOutput(target: string, opts: OutputGuardOptions): GuardedOutput {
  if (typeof target !== "string" || target.trim() === "") throw new Error(`${opts.flag}: empty file name`);
  const what = opts.what ?? "the output";
  const forceFlag = opts.forceFlag === undefined ? "--force" : opts.forceFlag;
  const real = realPathOf(target);

  // 1. Never inside (or around) what the command reads, nor inside any dataset or model folder.
  for (const read of opts.reads ?? []) {
    if (read === undefined || !fs.existsSync(read)) continue;
    const r = fs.realpathSync(read);
    if (real === r) throw new Error(`${target}: is ${describeRead(r)} that this command reads; give ${opts.flag} a new ${opts.kind}`);
    if (isInside(real, r)) throw new Error(`${target}: is inside ${describeRead(r)}; write ${what} outside it`);
    if (isInside(r, real)) throw new Error(`${target}: holds ${describeRead(r)} that this command reads; give ${opts.flag} a new ${opts.kind}`);
  }
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    const kind = protectedKind(dir);
    if (kind !== undefined) throw new Error(`${target}: is inside the ${kind} folder ${shownAs(target, real, dir)}; write ${what} outside it`);
    if (path.dirname(dir) === dir) break;
  }

  // 2. Never over what it did not make.
  let stat: fs.Stats;
  try {
    stat = fs.statSync(real);
  } catch {
    return { path: real, exists: false };
  }
  const lift = forceFlag === null ? `choose another ${opts.flag}` : `pass ${forceFlag} to overwrite it`;
  if (opts.kind === "file") {
    if (stat.isDirectory()) throw new Error(`${target}: is a folder; give a file name`);
    if (!opts.force) throw new Error(`${target}: already exists; ${lift}`);
    return { path: real, exists: true };
  }
  if (!stat.isDirectory()) throw new Error(`${target}: exists and is not a folder; give ${opts.flag} a folder name`);
  if (fs.readdirSync(real).length === 0 || opts.ownFolder?.(real) || opts.force) return { path: real, exists: true };
  throw new Error(
    `${target}: already exists and was not written by this command; ${forceFlag === null ? `choose another ${opts.flag}` : `pass ${forceFlag} to replace it, or choose another ${opts.flag}`}`,
  );
}

/** True when `dir` holds a linearity-lab dataset (manifest.json beside shards/). */
export function isDatasetFolder(dir: string): boolean {
  return isFile(path.join(dir, "manifest.json")) && isDir(path.join(dir, "shards"));
}

/** True when `dir` holds a model checkpoint (config.json beside safetensors weights). */
export function isModelFolder(dir: string): boolean {
  if (!isFile(path.join(dir, "config.json"))) return false;
  try {
    return fs.readdirSync(dir).some((n) => n.endsWith(".safetensors") || n === "model.safetensors.index.json");
  } catch {
    return false;
  }
}

function protectedKind(dir: string): "dataset" | "model" | undefined {
  if (isDatasetFolder(dir)) return "dataset";
  if (isModelFolder(dir)) return "model";
  return undefined;
}

function describeRead(real: string): string {
  const kind = isDir(real) ? protectedKind(real) : undefined;
  return kind !== undefined ? `the ${kind} folder ${real}` : isDir(real) ? `the folder ${real}` : `the file ${real}`;
}

/** `dir` as the user would recognise it: the given spelling when no link was crossed. */
function shownAs(target: string, real: string, dir: string): string {
  const given = path.resolve(target);
  if (given === real) return path.isAbsolute(target) ? dir : path.relative(process.cwd(), dir) || ".";
  return dir;
}

/**
 * The real path of `p`: symlinks resolved in every existing part, the missing tail appended.
 * A dangling symlink is refused.
 */
export function realPathOf(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail);
    } catch {
      let isLink = false;
      try {
        isLink = fs.lstatSync(head).isSymbolicLink();
      } catch {
        // missing: go up
      }
      if (isLink) throw new Error(`${p}: ${head === abs ? "is" : `goes through ${head}, which is`} a symbolic link to a missing file (${fs.readlinkSync(head)}); give a real path`);
      const parent = path.dirname(head);
      if (parent === head) return abs;
      tail.unshift(path.basename(head));
      head = parent;
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
