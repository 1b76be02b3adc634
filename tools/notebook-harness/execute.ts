/**
 * Executes a whole notebook in a fresh kernel and returns it with fresh outputs and real
 * execution counts (what `npm start` writes back). Unlike the checks, every code cell runs,
 * including NBVAL_SKIP ones, so the stored notebook is complete.
 */
import type { CodeCell, Notebook } from "./nbformat";
import * as nodePath from "path";
import { cellOptions } from "./markers";
import { stripMachinePaths } from "./paths";
import { CellRun, defaultCellTimeoutMs, NotebookSession, stderrText } from "./run";

export interface ExecuteNotebookOptions {
  timeoutMs?: number;
  /** Called after each code cell (progress reporting). */
  onCell?: (run: CellRun, index: number, total: number) => void;
  env?: Record<string, string>;
}

export interface ExecutedNotebook {
  notebook: Notebook;
  runs: CellRun[];
  /** The first cell that failed (an unexpected exception, a missing expected one, a timeout). */
  failure?: { number: number; message: string };
}

/** Jupyter's metadata for the tslab kernel, written into every executed notebook. */
export function tslabMetadata(info: Record<string, unknown>): Record<string, unknown> {
  return {
    kernelspec: { display_name: "TypeScript", language: "typescript", name: "tslab" },
    language_info: info.language_info ?? { name: "typescript" },
  };
}

/** Why a cell's run makes the notebook run fail, or undefined when it does not. */
export function runFailure(run: CellRun, cell: CodeCell, timeoutMs: number): string | undefined {
  const raises = cellOptions(cell, false).raises;
  const raised = run.status === "error";
  if (run.status === "timeout") return `timed out after ${Math.round(timeoutMs / 1000)} s`;
  if (run.status === "abort") return "aborted by the kernel";
  if (raised && !raises) return `raised an exception:\n${stderrText(run.outputs)}`;
  if (!raised && raises) return "is tagged raises-exception but did not raise";
  return undefined;
}

/** Runs every code cell of `nb` (read from `path`) top to bottom; stops at the first failure. */
export async function executeNotebook(path: string, nb: Notebook, opts: ExecuteNotebookOptions = {}): Promise<ExecutedNotebook> {
  const timeoutMs = opts.timeoutMs ?? defaultCellTimeoutMs();
  const session = await NotebookSession.start(path, { env: opts.env });
  const out: Notebook = structuredClone(nb);
  const runs: CellRun[] = [];
  const code = out.cells.filter((c): c is CodeCell => c.cell_type === "code");
  try {
    // Cells are numbered among code cells, as nbval numbers them ("Cell 3").
    for (const [k, c] of code.entries()) {
      const run = await session.runCell(c, k + 1, { timeoutMs });
      runs.push(run);
      opts.onCell?.(run, k, code.length);
      // Stored outputs carry no absolute paths of this machine (stack traces name files).
      c.outputs = stripMachinePaths(run.outputs, nodePath.dirname(nodePath.resolve(path)));
      c.execution_count = run.executionCount;
      const message = runFailure(run, c, timeoutMs);
      if (message) return { notebook: out, runs, failure: { number: k + 1, message } };
    }
    out.metadata = { ...out.metadata, ...tslabMetadata(session.kernel.info) };
    return { notebook: out, runs };
  } finally {
    await session.close();
  }
}
