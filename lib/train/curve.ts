/**
 * The learning curve of a run, written as `learning-curve.csv` in the output folder:
 *   step, lr, train_loss, val_loss, tokens, seconds
 * Losses are in nats/token (= nats/byte for the byte-level model). train_loss is the mean of the
 * training losses since the previous row; val_loss is the mean over the fixed held-out windows.
 * A run with a regularizer (`--reg`) has two more columns, logged apart from the LM loss:
 *   train_reg, val_reg
 * the unweighted regularizer R (lib/train/regularizer): the mean over the steps since the
 * previous row, and R on the same held-out windows as val_loss. train_loss and val_loss stay the
 * language-model cross-entropy alone, so curves with and without a regularizer compare directly.
 * The file is rewritten atomically at every row, so it is never half-written.
 */
import * as fs from "node:fs";
import { writeFileAtomic } from "../io/atomic";

/** One row of a training run's learning curve: step, learning rate, train and validation loss, tokens seen, seconds, regularizer terms. */
export interface CurveRow {
  step: number;
  lr: number;
  train_loss: number;
  val_loss: number;
  tokens: number;
  seconds: number;
  /** Unweighted regularizer, training (interval mean) and validation; only in runs with --reg. */
  train_reg?: number;
  val_reg?: number;
}

const HEADER = "step,lr,train_loss,val_loss,tokens,seconds";
const REG_COLUMNS = ",train_reg,val_reg";

export function formatCurve(rows: readonly CurveRow[]): string {
  const withReg = rows.some((r) => r.train_reg !== undefined);
  const lines = rows.map((r) => {
    const base = [r.step, r.lr.toExponential(4), r.train_loss.toFixed(5), r.val_loss.toFixed(5), r.tokens, r.seconds.toFixed(1)];
    if (withReg) base.push((r.train_reg ?? NaN).toFixed(5), (r.val_reg ?? NaN).toFixed(5));
    return base.join(",");
  });
  return [withReg ? HEADER + REG_COLUMNS : HEADER, ...lines].join("\n") + "\n";
}

export function writeCurve(file: string, rows: readonly CurveRow[]): void {
  writeFileAtomic(file, formatCurve(rows));
}

/** Read a curve written by {@link writeCurve} (empty when the file does not exist). */
export function readCurve(file: string): CurveRow[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  const withReg = lines[0] === HEADER + REG_COLUMNS;
  if (lines[0] !== HEADER && !withReg) throw new Error(`${file}: expected the header '${HEADER}' (or with '${REG_COLUMNS}'), got '${lines[0]}'`);
  const width = withReg ? 8 : 6;
  return lines.slice(1).map((line, i) => {
    const f = line.split(",").map(Number);
    if (f.length !== width || f.some((x) => Number.isNaN(x))) throw new Error(`${file}: line ${i + 2} is not ${width} numbers: '${line}'`);
    const row: CurveRow = { step: f[0], lr: f[1], train_loss: f[2], val_loss: f[3], tokens: f[4], seconds: f[5] };
    if (withReg) {
      row.train_reg = f[6];
      row.val_reg = f[7];
    }
    return row;
  });
}
