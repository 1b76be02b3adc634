/**
 * Shared by the notebook scripts and tests: the repository root and the notebooks to run.
 */
import * as fs from "fs";
import * as path from "path";

/** The repository root: the nearest folder above `from` whose package.json is linearity-lab's. */
export function repoRoot(from = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string }).name === "linearity-lab") return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the linearity-lab package above ${from}`);
  }
}

/** notebooks/*.ipynb, sorted, without Jupyter's .ipynb_checkpoints copies. */
export function listNotebooks(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ipynb"))
    .map((e) => path.join(dir, e.name))
    .sort();
}
