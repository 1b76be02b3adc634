/**
 * Notebooks import the library through its single entry point, `../dist/lib` (lib/index.ts):
 * areas move between folders, the entry point's exports stay.
 */
import * as path from "path";
import { describe, expect, test } from "vitest";
import { readNotebook } from "../../tools/notebook-harness/nbformat";
import { listNotebooks } from "../../scripts/notebook-paths";
import { publicNames } from "../public-api";

const root = path.resolve(__dirname, "../..");

/** Module specifiers of `import ... from "x"`, `import "x"` and `require("x")` in TypeScript source. */
export function moduleSpecifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*|\brequire\s*\(\s*)(["'])([^"'\n]+)\1/g)) out.push(m[2]);
  return out;
}

/** Names imported from "../dist/lib" (`import { a, type B, c as d } from "../dist/lib"`), as exported. */
export function libImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/\bimport\s+(?:type\s+)?\{([^}]*)\}\s*from\s*(["'])\.\.\/dist\/lib\2/g)) {
    for (const part of m[1].split(",")) {
      const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0].trim();
      if (name) out.push(name);
    }
  }
  return out;
}

describe("notebook imports", () => {
  test("imported names are read from named imports, with type and as", () => {
    expect(libImports(`import { a, type B,\n  c as d } from "../dist/lib";\nimport type { E } from '../dist/lib';\nimport { f } from "./x";`)).toEqual(["a", "B", "c", "E"]);
  });

  const notebooks = listNotebooks(path.join(root, "notebooks"));
  test("every name a notebook imports is exported by lib/index.ts", () => {
    const exported = new Set(publicNames().map((n) => n.name));
    const missing = notebooks.flatMap((file) =>
      readNotebook(file).cells.flatMap((c) => (c.cell_type === "code" ? libImports(c.source) : [])).filter((n) => !exported.has(n)).map((n) => `${path.basename(file)}: ${n}`),
    );
    expect(missing, "lib/index.ts dropped a name a notebook imports").toEqual([]);
  });

  test("specifiers are found in import and require forms", () => {
    expect(moduleSpecifiers(`import { a } from "../dist/lib";\nimport * as dfd from 'danfojs-node';\nimport "x";\nconst t = require( "../dist/lib/plot" );`)).toEqual(["../dist/lib", "danfojs-node", "x", "../dist/lib/plot"]);
  });

  for (const file of notebooks) {
    test(`${path.relative(root, file)} imports the library only as "../dist/lib"`, () => {
      const nb = readNotebook(file);
      const piecemeal = nb.cells.flatMap((c) => (c.cell_type === "code" ? moduleSpecifiers(c.source) : [])).filter((s) => s.startsWith("../dist") && s !== "../dist/lib");
      expect(piecemeal, "import from the single entry point: import { ... } from \"../dist/lib\"").toEqual([]);
    });
  }
});
