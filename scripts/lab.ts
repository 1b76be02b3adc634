/**
 * `npm run lab`: opens the notebooks in JupyterLab (or the classic notebook) with the tslab
 * kernel available.
 *
 * Everything goes through the `jupyter` on PATH, the one that runs the notebooks (never a
 * separate `python3`). The kernelspec ("tslab": this Node running this clone's tslab) is written
 * into the clone, `.jupyter/kernels/tslab/kernel.json`, and that folder is put on JUPYTER_PATH
 * for the Jupyter started here, so nothing is written outside the clone. `--register` also
 * installs it for other Jupyter sessions (`jupyter kernelspec install`, into the active conda
 * or virtual environment, else per user), and says where.
 *
 *   npm run lab                      start JupyterLab in notebooks/
 *   npm run lab -- --register        ... and register the kernel permanently
 *   npm run lab -- --kernel-only     write the kernelspec, print the JUPYTER_PATH line, exit
 */
import { spawn, spawnSync } from "child_process";
import * as path from "path";
import { Command } from "commander";
import { repoRoot } from "./notebook-paths";
import { KERNEL_NAME, withJupyterPath, writeLocalKernelspec } from "./kernelspec";

function has(cmd: string, args: string[], env?: NodeJS.ProcessEnv): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", env });
  return r.error === undefined && r.status === 0;
}

const MISSING_JUPYTER = [
  "npm run lab: `jupyter` is not on PATH.",
  "Install JupyterLab, e.g. with the project's conda environment:",
  "  conda env create -f environment.yml",
  "  conda activate linearity-lab",
  "  npm ci",
  "  npm run lab",
  "(or: pip install jupyterlab 'plotly>=6.1'). See docs/notebooks.md.",
  "",
].join("\n");

function main(): number | Promise<number> {
  const root = repoRoot();
  const opts = new Command("lab")
    .description("Open the notebooks in JupyterLab with the tslab kernel")
    .option("--register", "also register the kernel for other Jupyter sessions (jupyter kernelspec install)")
    .option("--kernel-only", "write the kernelspec into the clone, print the JUPYTER_PATH to use, and exit")
    .parse()
    .opts<{ register?: boolean; kernelOnly?: boolean }>();

  const { jupyterPath, specDir } = writeLocalKernelspec(root);
  const env = { ...process.env, JUPYTER_PATH: withJupyterPath(jupyterPath) };
  process.stderr.write(`npm run lab: kernel "${KERNEL_NAME}" (TypeScript) written to ${path.relative(process.cwd(), specDir) || "."}/kernel.json\n`);
  if (opts.kernelOnly) {
    process.stdout.write(`export JUPYTER_PATH=${env.JUPYTER_PATH}\n`);
    return 0;
  }
  if (!has("jupyter", ["--version"])) {
    process.stderr.write(MISSING_JUPYTER);
    return 1;
  }
  if (opts.register) {
    const scope = process.env.CONDA_PREFIX || process.env.VIRTUAL_ENV ? "--sys-prefix" : "--user";
    // jupyter prints "Installed kernelspec tslab in <folder>".
    const r = spawnSync("jupyter", ["kernelspec", "install", specDir, "--name", KERNEL_NAME, scope, "--replace"], { stdio: "inherit" });
    if (r.status !== 0) {
      process.stderr.write(`npm run lab: jupyter kernelspec install ${scope} failed (exit ${r.status ?? r.error?.message})\n`);
      return 1;
    }
  }
  const app = has("jupyter", ["lab", "--version"], env) ? "lab" : "notebook";
  process.stderr.write(`npm run lab: starting jupyter ${app} in notebooks/ (JUPYTER_PATH=${env.JUPYTER_PATH})\n`);
  const child = spawn("jupyter", [app], { cwd: path.join(root, "notebooks"), stdio: "inherit", env });
  // Ctrl-C reaches jupyter through the terminal's process group; just wait for it to finish.
  process.on("SIGINT", () => undefined);
  return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
}

Promise.resolve(main()).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`npm run lab: ${err.message}\n`);
    process.exit(1);
  },
);
