/**
 * Executes a notebook's code cells one at a time in a fresh tslab kernel (started in the
 * notebook's folder) and checks each against its stored outputs by nbval's rules.
 *
 * One cell per request: tslab aborts queued requests after an error, and a per-cell timeout
 * needs to know which cell is running. An exception in tslab shows only as stderr text plus
 * `execute_reply.status == "error"` (no iopub `error` message), so that status is what counts
 * as "the cell raised"; NBVAL_RAISES_EXCEPTION is matched against it.
 */
import * as path from "path";
import { KernelClient, KernelStartOptions } from "./kernel";
import { cellOptions, CellOptions } from "./markers";
import type { CodeCell, Notebook, Output } from "./nbformat";
import { applyMessages, DisplayRegistry } from "./outputs";
import { compareOutputs } from "./compare";
import type { SanitizeRule } from "./sanitize";
import { stripAnsi } from "./ansi";

/** The result of running one code cell. */
export interface CellRun {
  /** 1-based position among the code cells (nbval's "Cell N"; markdown cells are not counted). */
  number: number;
  status: "ok" | "error" | "abort" | "timeout" | "skipped";
  outputs: Output[];
  executionCount: number | null;
  elapsedMs: number;
}

/** Default cell timeout: env NOTEBOOK_CELL_TIMEOUT (seconds), else 120 s. */
export function defaultCellTimeoutMs(): number {
  const s = Number(process.env.NOTEBOOK_CELL_TIMEOUT ?? "");
  return Number.isFinite(s) && s > 0 ? s * 1000 : 120_000;
}

/** Default kernel start-up timeout: env NOTEBOOK_STARTUP_TIMEOUT (seconds), else 60 s. */
export function defaultStartupTimeoutMs(): number {
  const s = Number(process.env.NOTEBOOK_STARTUP_TIMEOUT ?? "");
  return Number.isFinite(s) && s > 0 ? s * 1000 : 60_000;
}

/** Lax mode for `nb`: env NBVAL_LAX=1, or notebook metadata `{"nbval": {"lax": true}}`. */
export function isLax(nb: Notebook): boolean {
  const env = process.env.NBVAL_LAX;
  if (env !== undefined && env !== "" && env !== "0") return true;
  const meta = nb.metadata.nbval as { lax?: unknown } | undefined;
  return meta?.lax === true;
}

/** A kernel bound to one notebook: run its cells in order. */
export class NotebookSession {
  private readonly displays: DisplayRegistry = new Map();
  /** Set once a cell timed out: the kernel state is then unreliable. */
  timedOut = false;

  private constructor(readonly kernel: KernelClient, readonly notebookPath: string) {}

  /** Starts a kernel in the notebook's folder. */
  static async start(notebookPath: string, opts: Partial<KernelStartOptions> = {}): Promise<NotebookSession> {
    const kernel = await KernelClient.start({ cwd: path.dirname(path.resolve(notebookPath)), startupTimeoutMs: defaultStartupTimeoutMs(), ...opts });
    return new NotebookSession(kernel, notebookPath);
  }

  /** Executes one code cell (unless `skip`) and returns its fresh outputs. */
  async runCell(cell: CodeCell, number: number, opts: { skip?: boolean; timeoutMs?: number } = {}): Promise<CellRun> {
    if (opts.skip) return { number, status: "skipped", outputs: [], executionCount: null, elapsedMs: 0 };
    const timeoutMs = opts.timeoutMs ?? defaultCellTimeoutMs();
    const r = await this.kernel.execute(cell.source, { timeoutMs });
    if (r.status === "timeout") this.timedOut = true;
    const outputs = applyMessages(r.iopub, [], this.displays);
    return { number, status: r.status, outputs, executionCount: r.executionCount, elapsedMs: r.elapsedMs };
  }

  async close(): Promise<void> {
    await this.kernel.shutdown();
  }
}

/** Concatenated stderr and errors of a cell's outputs, without ANSI colour codes. */
export function stderrText(outputs: readonly Output[]): string {
  return stripAnsi(outputs.map((o) => (o.output_type === "stream" && o.name === "stderr" ? o.text : o.output_type === "error" ? `${o.ename}: ${o.evalue}\n${o.traceback.join("\n")}` : "")).join(""));
}

/** The verdict on one cell: undefined when it passes, else why it fails (multi-line). */
export function checkCell(run: CellRun, stored: CodeCell, options: CellOptions, rules: readonly SanitizeRule[], timeoutMs = defaultCellTimeoutMs()): string | undefined {
  if (run.status === "skipped") return undefined;
  if (run.status === "timeout") return `Timeout of ${Math.round(timeoutMs / 1000)} s exceeded while executing the cell (kernel interrupted)\n${stderrText(run.outputs)}`;
  if (run.status === "abort") return "The kernel aborted the cell (it was queued behind a failing cell)";
  const raised = run.status === "error" || run.outputs.some((o) => o.output_type === "error");
  if (raised && !options.raises) return `Cell execution caused an exception:\n${stderrText(run.outputs) || "(no stderr output)"}`;
  if (!raised && options.raises) return "The cell is marked to raise an exception (raises-exception / NBVAL_RAISES_EXCEPTION) but ran without error";
  if (stored.execution_count === null) {
    if (stored.outputs.length > 0) return "Unrun reference cell has outputs (execution_count is null): re-run `npm start` to store real execution counts";
    return undefined; // nbval does not compare cells that were never run
  }
  if (!options.check) return undefined;
  const cmp = compareOutputs(run.outputs, stored.outputs, rules);
  return cmp.ok ? undefined : cmp.message;
}

/** The code cells of `nb`, numbered 1, 2, ... among code cells as nbval does, with their nbval options. */
export function codeCells(nb: Notebook, lax: boolean): { cell: CodeCell; number: number; options: CellOptions }[] {
  const out: { cell: CodeCell; number: number; options: CellOptions }[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type === "code") out.push({ cell, number: out.length + 1, options: cellOptions(cell, lax) });
  }
  return out;
}

/** The first line of a cell's source, for test names (markers and blank lines skipped). */
export function firstLine(source: string, max = 60): string {
  const line = source.split("\n").map((l) => l.trim()).find((l) => l !== "" && !/^(\/\/|#)\s*(NBVAL_|PYTEST_VALIDATE_)/.test(l)) ?? "";
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}
