/**
 * The learning curve of a run, written as `learning-curve.csv` in the output folder:
 *   step, lr, train_loss, val_loss, tokens, seconds
 * Losses are in nats/token (= nats/byte for the byte-level model). train_loss is the mean of the
 * training losses since the previous row; val_loss is the mean over the fixed held-out windows.
 * The file is rewritten atomically at every row, so it is never half-written.
 */
import * as fs from "node:fs";
import { writeFileAtomic } from "../io/atomic";

export interface CurveRow {
  step: number;
  lr: number;
  train_loss: number;
  val_loss: number;
  tokens: number;
  seconds: number;
}

const HEADER = "step,lr,train_loss,val_loss,tokens,seconds";

export function formatCurve(rows: readonly CurveRow[]): string {
  const lines = rows.map((r) =>
    [r.step, r.lr.toExponential(4), r.train_loss.toFixed(5), r.val_loss.toFixed(5), r.tokens, r.seconds.toFixed(1)].join(","),
  );
  return [HEADER, ...lines].join("\n") + "\n";
}

export function writeCurve(file: string, rows: readonly CurveRow[]): void {
  writeFileAtomic(file, formatCurve(rows));
}

/** Read a curve written by {@link writeCurve} (empty when the file does not exist). */
export function readCurve(file: string): CurveRow[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  if (lines[0] !== HEADER) throw new Error(`${file}: expected the header '${HEADER}', got '${lines[0]}'`);
  return lines.slice(1).map((line, i) => {
    const f = line.split(",").map(Number);
    if (f.length !== 6 || f.some((x) => Number.isNaN(x))) throw new Error(`${file}: line ${i + 2} is not 6 numbers: '${line}'`);
    return { step: f[0], lr: f[1], train_loss: f[2], val_loss: f[3], tokens: f[4], seconds: f[5] };
  });
}
