/**
 * Fault injection for file-system calls: replaces one function of Node's `fs` (for every module,
 * ESM imports included, through syncBuiltinESMExports) while `fn` runs.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";

type FsModule = Record<string, unknown>;

/** An error as Node raises it: message "CODE: text, call", with .code set. */
export function errnoError(code: string, text: string, call: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${text}, ${call}`) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

/**
 * Run `fn` (sync or async) with `fs[name]` replaced by `fake`, which gets the original first.
 */
export function withFsFault<T>(name: string, fake: (original: (...a: unknown[]) => unknown, ...args: unknown[]) => unknown, fn: () => T): T {
  const fs = createRequire(__filename)("fs") as FsModule;
  const original = fs[name] as (...a: unknown[]) => unknown;
  fs[name] = (...args: unknown[]) => fake(original, ...args);
  syncBuiltinESMExports();
  const restore = (): void => {
    fs[name] = original;
    syncBuiltinESMExports();
  };
  let result: T;
  try {
    result = fn();
  } catch (err) {
    restore();
    throw err;
  }
  if (result instanceof Promise) return result.finally(restore) as T; // restore once it settles
  restore();
  return result;
}
