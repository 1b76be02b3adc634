/**
 * Executes a whole notebook in a fresh kernel and returns it with fresh outputs and real
 * execution counts (what `npm start` writes back). Unlike the checks, every code cell runs,
 * including NBVAL_SKIP ones, so the stored notebook is complete.
 */
import type { CodeCell, Notebook } from "./nbformat";
import { cellOptions } from "./markers";
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

/** Runs every code cell of `nb` (read from `path`) top to bottom; stops at the first failure. */
export async function executeNotebook(path: string, nb: Notebook, opts: ExecuteNotebookOptions = {}): Promise<ExecutedNotebook> {
  const timeoutMs = opts.timeoutMs ?? defaultCellTimeoutMs();
  const session = await NotebookSession.start(path, { env: opts.env });
  const out: Notebook = structuredClone(nb);
  const runs: CellRun[] = [];
  const code = out.cells.map((c, i) => ({ c, i })).filter((x): x is { c: CodeCell; i: number } => x.c.cell_type === "code");
  try {
    for (const [k, { c, i }] of code.entries()) {
      const run = await session.runCell(c, i + 1, { timeoutMs });
      runs.push(run);
      opts.onCell?.(run, k, code.length);
      c.outputs = run.outputs;
      c.execution_count = run.executionCount;
      const raises = cellOptions(c, false).raises;
      const raised = run.status === "error";
      let message: string | undefined;
      if (run.status === "timeout") message = `timed out after ${Math.round(timeoutMs / 1000)} s`;
      else if (run.status === "abort") message = "aborted by the kernel";
      else if (raised && !raises) message = `raised an exception:\n${stderrText(run.outputs)}`;
      else if (!raised && raises) message = "is tagged raises-exception but did not raise";
      if (message) return { notebook: out, runs, failure: { number: i + 1, message } };
    }
    out.metadata = { ...out.metadata, ...tslabMetadata(session.kernel.info) };
    return { notebook: out, runs };
  } finally {
    await session.close();
  }
}
