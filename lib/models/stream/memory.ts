/**
 * Memory budgets: parsing `--memory SIZE`, the default (three quarters of the memory the kernel
 * reports available when the run starts), sizes in words, and the peak resident memory of this
 * process (/proc/self/status VmHWM), which the commands print at the end of a run.
 */
import * as fs from "node:fs";
import * as os from "node:os";

const UNITS: Record<string, number> = { "": 1, b: 1, k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40 };

/**
 * "4G", "4GiB", "512M", "1.5g", "2048MB", "1073741824" (bytes) -> bytes. Units are binary
 * (K = 1024). Throws a one-line error naming `flag` for anything else.
 */
export function parseMemorySize(text: string | number, flag = "--memory"): number {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text <= 0) throw new Error(`${flag}: expected a positive size, got ${text}`);
    return Math.floor(text);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m?.[2].toLowerCase();
  if (m === null || unit === undefined || !Object.hasOwn(UNITS, unit)) {
    throw new Error(`${flag}: expected a size such as 4G, 512M or 1.5GiB, got '${text}'`);
  }
  const bytes = Math.floor(Number(m[1]) * UNITS[unit]);
  if (!(bytes > 0)) throw new Error(`${flag}: expected a positive size, got '${text}'`);
  return bytes;
}

/** Bytes the kernel says new work can use now: MemAvailable of /proc/meminfo, else os.freemem(). */
export function availableMemory(): number {
  try {
    const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(fs.readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return os.freemem();
}

/** The budget when --memory is not given: three quarters of {@link availableMemory} at start. */
export function defaultMemoryBudget(): number {
  return Math.floor(0.75 * availableMemory());
}

/** 1536 -> "1.5 KiB", 3.4e9 -> "3.2 GiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n, u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[u]}`;
}

/** Peak resident memory of this process so far (VmHWM), in bytes; undefined where /proc is absent. */
export function peakResidentBytes(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s*kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
