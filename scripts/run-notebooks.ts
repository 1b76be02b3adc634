/**
 * `npm start`: executes every notebook in notebooks/ top to bottom in a fresh tslab kernel,
 * writes each back with fresh outputs and real execution counts, and writes an offline HTML
 * report of each to reports/<name>.html.
 *
 * Usage: node dist/scripts/run-notebooks.js [notebook.ipynb ...] [--no-report]
 *        [--reports <dir>] [--timeout <seconds per cell>]
 *
 * A notebook whose run fails (an unexpected exception, a raises-exception cell that does not
 * raise, a timeout) is left as it was; the script goes on with the others and exits 1, naming
 * the notebook and cell. Files are replaced atomically, so an interrupted run changes nothing.
 */
import * as path from "path";
import * as fs from "fs";
import { Command } from "commander";
import { SingleBar } from "cli-progress";
import { readNotebook, writeNotebook } from "../tools/notebook-harness/nbformat";
import { executeNotebook } from "../tools/notebook-harness/execute";
import { renderReport } from "../tools/notebook-harness/report";
import { writeFileAtomic } from "../lib/io/atomic";
import { listNotebooks, repoRoot } from "./notebook-paths";

interface Options {
  report: boolean;
  reports: string;
  timeout?: string;
}

async function main(): Promise<number> {
  const root = repoRoot();
  const program = new Command("run-notebooks")
    .description("Execute the notebooks, store fresh outputs, write HTML reports")
    .argument("[notebooks...]", "notebooks to run (default: notebooks/*.ipynb)")
    .option("--no-report", "do not write HTML reports")
    .option("--reports <dir>", "folder for the HTML reports", path.join(root, "reports"))
    .option("--timeout <seconds>", "per-cell timeout in seconds (default: env NOTEBOOK_CELL_TIMEOUT or 120)")
    .parse();
  const opts = program.opts<Options>();
  const files = program.args.length ? program.args.map((f) => path.resolve(f)) : listNotebooks(path.join(root, "notebooks"));
  let timeoutMs: number | undefined;
  if (opts.timeout !== undefined) {
    const s = Number(opts.timeout);
    if (!(s > 0)) throw new Error(`--timeout: expected a positive number of seconds, got '${opts.timeout}'`);
    timeoutMs = s * 1000;
  }
  if (files.length === 0) throw new Error(`no notebooks found in ${path.join(root, "notebooks")}`);

  let failures = 0;
  for (const file of files) {
    const rel = path.relative(process.cwd(), file);
    const nb = readNotebook(file);
    const started = Date.now();
    const bar = new SingleBar({ format: `${rel} [{bar}] {value}/{total} cells`, stream: process.stderr, hideCursor: true });
    const codeCount = nb.cells.filter((c) => c.cell_type === "code").length;
    bar.start(codeCount, 0);
    const result = await executeNotebook(file, nb, { timeoutMs, onCell: (_run, k) => bar.update(k + 1) }).finally(() => bar.stop());
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.failure) {
      failures++;
      process.stderr.write(`npm start: ${rel}, cell ${result.failure.number} ${result.failure.message.trimEnd()}\n  (notebook left unchanged)\n`);
      continue;
    }
    writeNotebook(file, result.notebook);
    let reportNote = "";
    if (opts.report) {
      fs.mkdirSync(opts.reports, { recursive: true });
      const reportPath = path.join(opts.reports, path.basename(file, ".ipynb") + ".html");
      writeFileAtomic(reportPath, renderReport(result.notebook, path.basename(file)));
      reportNote = `, report ${path.relative(process.cwd(), reportPath)}`;
    }
    process.stderr.write(`${rel}: ${codeCount} cells in ${seconds} s${reportNote}\n`);
  }
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`run-notebooks: ${process.env.LINEARITY_DEBUG ? err.stack : err.message}\n`);
    process.exit(1);
  },
);
