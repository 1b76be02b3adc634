/**
 * lib/index.ts is the curated public API: listed names only, each documented, none from the
 * tooling (tools/, the CLI).
 */
import * as fs from "fs";
import * as path from "path";
import { beforeAll, describe, expect, test } from "vitest";
import { type PublicName, publicNames } from "./public-api";

const root = path.resolve(__dirname, "..");
let names: PublicName[];

beforeAll(() => {
  names = publicNames();
});

describe("lib/index.ts, the public API", () => {
  test("lists its names: no `export *`", () => {
    const source = fs.readFileSync(path.join(root, "lib", "index.ts"), "utf8");
    expect(source.match(/^\s*export\s+\*/gm) ?? []).toEqual([]);
  });

  test("exports the notebooks' core names and not the internals", () => {
    const exported = new Set(names.map((n) => n.name));
    for (const n of ["openSamples", "linearityScore", "HiddenStateDataset", "extract", "loadModel", "lineChart", "showTable"]) expect(exported.has(n), n).toBe(true);
    // Family internals and numerics kernels stay in their folders.
    for (const n of ["llamaForward", "gpt2FromHf", "causalAttention", "factorGram", "writeFileAtomic", "f32ToF16Bits", "nativeBlas"]) expect(exported.has(n), n).toBe(false);
    expect(names.length).toBeGreaterThan(100);
  });

  test("nothing comes from the tooling (tools/, lib/cli)", () => {
    expect(names.filter((n) => n.file.startsWith("tools/") || n.file.startsWith("lib/cli/")).map((n) => `${n.name} (${n.file})`)).toEqual([]);
  });

  test("every exported name has TSDoc at its declaration", () => {
    expect(names.filter((n) => n.doc === "").map((n) => `${n.name} (${n.file})`)).toEqual([]);
  });
});
