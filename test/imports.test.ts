/**
 * Imports flow one way: what is measured (lib/metrics) and the analyses on top of it (lib/analysis)
 * reach the kernels (lib/native: OpenBLAS, wasm) only through lib/numerics, which owns every
 * route choice. A direct import of lib/native from there fails this test.
 */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, test } from "vitest";

const root = path.resolve(__dirname, "..");

/** Module specifiers of a TypeScript source: import / export ... from, import(), require(). */
function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g, /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** Files under a lib/ folder (recursive), relative to the repository root. */
function sources(folder: string): string[] {
  const dir = path.join(root, folder);
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => path.join(folder, f));
}

/** "file -> specifier" for every import of `file` that resolves into lib/native. */
function nativeImports(file: string, source: string): string[] {
  const native = path.join(root, "lib", "native");
  return specifiers(source)
    .filter((s) => s.startsWith("."))
    .filter((s) => {
      const target = path.resolve(root, path.dirname(file), s);
      return target === native || target.startsWith(native + path.sep);
    })
    .map((s) => `${file} -> ${s}`);
}

describe("imports flow one way", () => {
  test("the scanner sees every import form (a check that can fail)", () => {
    const src = [
      'import { nativeBlas } from "../native/blas";',
      'export { x } from "../native";',
      'import "../native/wasm-heap";',
      'const m = require("../native/blas");',
      'const n = await import("../native/index");',
      'import { ok } from "../numerics/solve";',
    ].join("\n");
    expect(nativeImports("lib/metrics/fake.ts", src).sort()).toEqual(
      ["../native/blas", "../native", "../native/wasm-heap", "../native/blas", "../native/index"].map((s) => `lib/metrics/fake.ts -> ${s}`).sort(),
    );
    expect(nativeImports("lib/metrics/fake.ts", 'import { a } from "../numerics/native-names";')).toEqual([]);
  });

  test.each(["lib/metrics", "lib/analysis"])("%s never imports lib/native (its kernels are reached through lib/numerics)", (folder) => {
    const files = sources(folder);
    expect(files.length).toBeGreaterThan(3);
    expect(files.flatMap((f) => nativeImports(f, fs.readFileSync(path.join(root, f), "utf8")))).toEqual([]);
  });
});
