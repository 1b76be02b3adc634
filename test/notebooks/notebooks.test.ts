/**
 * The notebook harness: executes every notebook in notebooks/ in a fresh tslab kernel, one
 * vitest test per code cell, and compares fresh outputs with the stored ones by nbval's rules
 * (tools/notebook-harness/run.ts). Environment:
 *   NBVAL_LAX=1                 compare only cells tagged nbval-check-output (nbval --nbval-lax)
 *   NOTEBOOK_CELL_TIMEOUT=s     per-cell timeout (default 120)
 *   NOTEBOOK_STARTUP_TIMEOUT=s  kernel start-up timeout (default 60)
 *   NOTEBOOKS=a,b               run only notebooks whose file name contains one of these
 * Notebooks import the compiled library (dist/), so `npm run build` must have run (npm ci does).
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readNotebook } from "../../tools/notebook-harness/nbformat";
import { checkCell, codeCells, defaultCellTimeoutMs, defaultStartupTimeoutMs, firstLine, isLax, NotebookSession } from "../../tools/notebook-harness/run";
import { loadSanitize } from "../../tools/notebook-harness/sanitize";
import { listNotebooks } from "../../scripts/notebook-paths";
import { staleBuildWarning } from "./build-check";

const root = path.resolve(__dirname, "../..");
const notebooksDir = path.join(root, "notebooks");
const only = (process.env.NOTEBOOKS ?? "").split(",").filter(Boolean);
const files = listNotebooks(notebooksDir).filter((f) => only.length === 0 || only.some((o) => path.basename(f).includes(o)));
const rules = loadSanitize(path.join(notebooksDir, "sanitize.cfg"));
const cellTimeoutMs = defaultCellTimeoutMs();

test("the compiled library exists (notebooks import ../dist/lib)", () => {
  const entry = path.join(root, "dist", "lib", "index.js");
  expect(fs.existsSync(entry), `${entry} is missing: run \`npm run build\``).toBe(true);
  const warning = staleBuildWarning(root);
  if (warning) console.warn(warning);
});

for (const file of files) {
  const nb = readNotebook(file);
  const name = path.relative(root, file);
  const cells = codeCells(nb, isLax(nb));

  describe(name, () => {
    let session: NotebookSession | undefined;
    let startError: Error | undefined;

    beforeAll(async () => {
      try {
        session = await NotebookSession.start(file);
      } catch (e) {
        startError = e as Error;
      }
    }, defaultStartupTimeoutMs() + 10_000);

    afterAll(async () => {
      await session?.close();
    }, 15_000);

    for (const { cell, number, options } of cells) {
      test(`cell ${number}: ${firstLine(cell.source)}`, async (ctx) => {
        if (startError) throw startError;
        if (options.skip) ctx.skip();
        // After a timeout the kernel's state is unknown: nbval marks later cells xfail; skip them.
        if (session!.timedOut) ctx.skip();
        const run = await session!.runCell(cell, number, { timeoutMs: cellTimeoutMs });
        const failure = checkCell(run, cell, options, rules, cellTimeoutMs);
        if (failure) expect.fail(`${name}, cell ${number}\n${failure}`);
      }, cellTimeoutMs + 15_000);
    }
  });
}
