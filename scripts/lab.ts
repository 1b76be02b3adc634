/**
 * `npm run lab`: opens the notebooks in JupyterLab (or, where JupyterLab is not installed, the
 * classic Notebook) with the tslab kernel available.
 *
 * Everything goes through one `jupyter`: env LINEARITY_JUPYTER, else the `jupyter` on PATH (never
 * a separate `python3`). The kernelspec ("tslab": this Node running this clone's tslab) is written
 * into the clone, `.jupyter/kernels/tslab/kernel.json`, and the Jupyter started here keeps its
 * data, runtime and JupyterLab settings folders in `.jupyter/` too (scripts/lab-env.ts), so
 * nothing is written outside the clone. `--register` also installs the kernel for other Jupyter
 * sessions (`jupyter kernelspec install`, into the active conda or virtual environment, else per
 * user), and says where. Every other argument goes to Jupyter; as root, --allow-root is added.
 *
 *   npm run lab                            start JupyterLab in notebooks/
 *   npm run lab -- --no-browser --port 8890   ... with Jupyter's own options
 *   npm run lab -- --register              ... and register the kernel permanently
 *   npm run lab -- --kernel-only           write the kernelspec, print the environment, exit
 */
import { spawn, spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "./notebook-paths";
import { KERNEL_NAME, writeLocalKernelspec } from "./kernelspec";
import { jupyterArgv, jupyterCommand, LAB_ENV_NAMES, labEnv, parseLabArgs } from "./lab-env";

const USAGE = [
  "Usage: npm run lab -- [--register | --kernel-only] [JUPYTER OPTIONS...] [-- JUPYTER ARGS...]",
  "",
  "Opens notebooks/ in JupyterLab (the classic Notebook where JupyterLab is not installed) with",
  "the tslab kernel, keeping Jupyter's files in the clone's .jupyter/.",
  "",
  "  --register     also install the kernel for other Jupyter sessions (jupyter kernelspec install)",
  "  --kernel-only  write the kernelspec into the clone, print the environment to use, and exit",
  "  -h, --help     this text",
  "Any other option (--no-browser, --port 8890, --allow-root, ...) goes to Jupyter; as root",
  "(uid 0) --allow-root is added. Env LINEARITY_JUPYTER names the jupyter to run.",
  "",
].join("\n");

const MISSING_JUPYTER = (cmd: string) =>
  [
    `npm run lab: \`${cmd}\` is not ${cmd === "jupyter" ? "on PATH" : "a working jupyter"}.`,
    "Install JupyterLab, e.g. with the project's conda environment:",
    "  conda env create -f environment.yml",
    "  conda activate linearity-lab",
    "  npm ci",
    "  npm run lab",
    "(or: pip install jupyterlab 'plotly>=6.1'). See docs/notebooks.md.",
    "",
  ].join("\n");

const CLASSIC_NOTEBOOK = [
  "npm run lab: JupyterLab is not installed (`jupyter lab` is missing): opening the classic Notebook.",
  "  Its charts draw from their HTML, not from Plotly's JupyterLab renderer: a notebook shows",
  "  static pictures until it is trusted (File > Trust Notebook) or its cells are re-run.",
  "  For JupyterLab: pip install jupyterlab 'plotly>=6.1' (or the conda environment, environment.yml).",
  "",
].join("\n");

function succeeds(cmd: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", env });
  return r.error === undefined && r.status === 0;
}

/** A value for a POSIX shell: single-quoted unless it needs no quoting. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function main(): number | Promise<number> {
  const root = repoRoot();
  const args = parseLabArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { specDir } = writeLocalKernelspec(root);
  const env = labEnv(root);
  process.stderr.write(`npm run lab: kernel "${KERNEL_NAME}" (TypeScript) written to ${path.relative(process.cwd(), specDir) || "."}/kernel.json\n`);
  if (args.kernelOnly) {
    for (const name of LAB_ENV_NAMES) {
      const value = env[name];
      if (value !== undefined) process.stdout.write(`export ${name}=${shellWord(value)}\n`);
    }
    return 0;
  }
  const jupyter = jupyterCommand();
  if (!succeeds(jupyter, ["--version"], env)) {
    process.stderr.write(MISSING_JUPYTER(jupyter));
    return 1;
  }
  if (args.register) {
    const scope = process.env.CONDA_PREFIX || process.env.VIRTUAL_ENV ? "--sys-prefix" : "--user";
    // The user's own environment, not labEnv: registering is for Jupyter sessions started elsewhere.
    // jupyter prints "Installed kernelspec tslab in <folder>".
    const r = spawnSync(jupyter, ["kernelspec", "install", specDir, "--name", KERNEL_NAME, scope, "--replace"], { stdio: "inherit" });
    if (r.status !== 0) {
      process.stderr.write(`npm run lab: jupyter kernelspec install ${scope} failed (exit ${r.status ?? r.error?.message})\n`);
      return 1;
    }
  }
  let app: "lab" | "notebook" = "lab";
  if (!succeeds(jupyter, ["lab", "--version"], env)) {
    if (!succeeds(jupyter, ["notebook", "--version"], env)) {
      process.stderr.write("npm run lab: neither `jupyter lab` nor `jupyter notebook` is installed.\n" + MISSING_JUPYTER(jupyter).split("\n").slice(1).join("\n"));
      return 1;
    }
    process.stderr.write(CLASSIC_NOTEBOOK);
    app = "notebook";
  }
  const { argv, addedAllowRoot } = jupyterArgv(app, args.jupyterArgs, process.getuid?.() === 0);
  if (addedAllowRoot) process.stderr.write("npm run lab: running as root (uid 0): adding --allow-root\n");
  process.stderr.write(`npm run lab: starting ${[jupyter, ...argv].map(shellWord).join(" ")} in notebooks/ (Jupyter's files in ${path.join(root, ".jupyter")})\n`);
  const child = spawn(jupyter, argv, { cwd: path.join(root, "notebooks"), stdio: "inherit", env });
  // Ctrl-C reaches jupyter through the terminal's process group; just wait for it to finish.
  process.on("SIGINT", () => undefined);
  // A SIGTERM or SIGHUP sent to this process alone (a process manager, a test, a closed
  // terminal) goes on to Jupyter, which shuts its kernels down; it must not outlive us.
  for (const signal of ["SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => {
    child.on("error", (err) => {
      process.stderr.write(`npm run lab: cannot start ${jupyter}: ${err.message}\n`);
      resolve(1);
    });
    child.on("exit", (code, signal) => resolve(code ?? 128 + ((signal && os.constants.signals[signal]) || 0)));
  });
}

Promise.resolve(main()).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`npm run lab: ${err.message}\n`);
    process.exit(1);
  },
);
