/**
 * `npm run lab`: opens the notebooks in JupyterLab (or the classic notebook) with the tslab
 * kernel registered. Needs `jupyter` on PATH, e.g. from the conda environment in
 * environment.yml; without it, prints what to install and exits 1.
 *
 * The kernelspec is installed with the absolute path of this clone's tslab launcher, so the
 * kernel starts without node_modules/.bin on PATH; into the active conda/virtual environment
 * (`--sys-prefix`) when there is one, else per user (`--user`).
 */
import { spawn, spawnSync } from "child_process";
import * as path from "path";
import { repoRoot } from "./notebook-paths";

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

function main(): number | Promise<number> {
  const root = repoRoot();
  if (!has("jupyter", ["--version"])) {
    process.stderr.write(
      [
        "npm run lab: `jupyter` is not on PATH.",
        "Install JupyterLab, e.g. with the project's conda environment:",
        "  conda env create -f environment.yml",
        "  conda activate linearity-lab",
        "  npm ci",
        "  npm run lab",
        "(or: pip install jupyterlab 'plotly>=6.1'). See docs/notebooks.md.",
        "",
      ].join("\n"),
    );
    return 1;
  }
  const python = has("python3", ["--version"]) ? "python3" : "python";
  const tslab = path.join(root, "node_modules", "tslab", "bin", "tslab");
  const scope = process.env.CONDA_PREFIX || process.env.VIRTUAL_ENV ? "--sys-prefix" : "--user";
  const install = spawnSync(process.execPath, [tslab, "install", `--python=${python}`, `--binary=${tslab}`, scope], { stdio: "inherit" });
  if (install.status !== 0) {
    process.stderr.write(`npm run lab: registering the tslab kernel failed (tslab install ${scope} exited ${install.status})\n`);
    return 1;
  }
  const app = has("jupyter", ["lab", "--version"]) ? "lab" : "notebook";
  process.stderr.write(`npm run lab: starting jupyter ${app} in notebooks/ (kernel "TypeScript")\n`);
  const child = spawn("jupyter", [app], { cwd: path.join(root, "notebooks"), stdio: "inherit" });
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
