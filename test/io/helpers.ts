import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A fresh temporary folder for one test file; removed by the returned cleanup. */
export function tempDir(prefix = "linearity-io-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const FIXTURES = path.join(__dirname, "fixtures");

/** a[i, j] = (i * cols + j) * 0.25 - 1, the formula the fixture script uses. */
export function grid(rows: number, cols: number): number[] {
  return Array.from({ length: rows * cols }, (_, k) => k * 0.25 - 1);
}
