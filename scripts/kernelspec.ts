/**
 * The tslab kernelspec the notebooks use ("tslab", display name "TypeScript"), written into this
 * clone so that registering it writes nothing elsewhere. Jupyter finds it when `.jupyter` is on
 * JUPYTER_PATH (`npm run lab` sets that for the Jupyter it starts).
 */
import * as fs from "fs";
import * as path from "path";

/** The kernel name the notebooks' metadata asks for. */
export const KERNEL_NAME = "tslab";

/** kernel.json for this clone: this Node binary running this clone's tslab (no PATH lookups). */
export function kernelJson(root: string): Record<string, unknown> {
  const tslab = path.join(root, "node_modules", "tslab", "bin", "tslab");
  return {
    argv: [process.execPath, tslab, "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript",
    language: "typescript",
  };
}

/** Writes `<root>/.jupyter/kernels/tslab/kernel.json`; returns the data folder to put on JUPYTER_PATH. */
export function writeLocalKernelspec(root: string): { jupyterPath: string; specDir: string } {
  const jupyterPath = path.join(root, ".jupyter");
  const specDir = path.join(jupyterPath, "kernels", KERNEL_NAME);
  fs.mkdirSync(specDir, { recursive: true });
  fs.writeFileSync(path.join(specDir, "kernel.json"), JSON.stringify(kernelJson(root), null, 1) + "\n");
  return { jupyterPath, specDir };
}

/** JUPYTER_PATH with `dir` first (Jupyter reads it as a path list). */
export function withJupyterPath(dir: string, current = process.env.JUPYTER_PATH): string {
  return current ? `${dir}${path.delimiter}${current}` : dir;
}
