/**
 * Notebooks import the library through its single entry point, `../dist/lib` (lib/index.ts):
 * areas move between folders, the entry point's exports stay.
 */
import * as path from "path";
import { describe, expect, test } from "vitest";
import { readNotebook } from "../../lib/notebook/nbformat";
import { listNotebooks } from "../../scripts/notebook-paths";

const root = path.resolve(__dirname, "../..");

/** Module specifiers of `import ... from "x"`, `import "x"` and `require("x")` in TypeScript source. */
export function moduleSpecifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*|\brequire\s*\(\s*)(["'])([^"'\n]+)\1/g)) out.push(m[2]);
  return out;
}

describe("notebook imports", () => {
  test("specifiers are found in import and require forms", () => {
    expect(moduleSpecifiers(`import { a } from "../dist/lib";\nimport * as dfd from 'danfojs-node';\nimport "x";\nconst t = require( "../dist/lib/plot" );`)).toEqual(["../dist/lib", "danfojs-node", "x", "../dist/lib/plot"]);
  });

  for (const file of listNotebooks(path.join(root, "notebooks"))) {
    test(`${path.relative(root, file)} imports the library only as "../dist/lib"`, () => {
      const nb = readNotebook(file);
      const piecemeal = nb.cells.flatMap((c) => (c.cell_type === "code" ? moduleSpecifiers(c.source) : [])).filter((s) => s.startsWith("../dist") && s !== "../dist/lib");
      expect(piecemeal, "import from the single entry point: import { ... } from \"../dist/lib\"").toEqual([]);
    });
  }
});
