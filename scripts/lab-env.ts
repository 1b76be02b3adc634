/**
 * What `npm run lab` hands to Jupyter, as pure functions of its arguments and the environment
 * (tested without a Jupyter): which `jupyter` to run, the command line, and the environment that
 * keeps every file Jupyter writes inside the clone's `.jupyter/`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { withJupyterPath } from "./kernelspec";

/** The options `npm run lab` reads itself; everything else goes to Jupyter, in order. */
export interface LabArgs {
  register: boolean;
  kernelOnly: boolean;
  help: boolean;
  /** Arguments for `jupyter lab` / `jupyter notebook` (all after a literal `--`, and every unknown one). */
  jupyterArgs: string[];
}

/** Splits argv (after the script name) into lab's own options and Jupyter's. */
export function parseLabArgs(argv: readonly string[]): LabArgs {
  const out: LabArgs = { register: false, kernelOnly: false, help: false, jupyterArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.jupyterArgs.push(...argv.slice(i + 1));
      break;
    }
    if (a === "--register") out.register = true;
    else if (a === "--kernel-only") out.kernelOnly = true;
    else if (a === "--help" || a === "-h") out.help = true;
    else out.jupyterArgs.push(a);
  }
  return out;
}

/** The `jupyter` to run: env LINEARITY_JUPYTER (a path or a command name), else `jupyter` on PATH. */
export function jupyterCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.LINEARITY_JUPYTER || "jupyter";
}

/** Whether argv already lets the server run as root (any of Jupyter's spellings). */
function allowsRoot(args: readonly string[]): boolean {
  return args.some((a) => a === "--allow-root" || /^--(NotebookApp|ServerApp)\.allow_root(=|$)/.test(a));
}

/**
 * `jupyter <app> ...`: the user's arguments, plus --allow-root when running as root (uid 0:
 * containers, many cloud notebooks), where Jupyter otherwise refuses to start.
 */
export function jupyterArgv(app: "lab" | "notebook", userArgs: readonly string[], isRoot: boolean): { argv: string[]; addedAllowRoot: boolean } {
  const addedAllowRoot = isRoot && !allowsRoot(userArgs);
  return { argv: [app, ...userArgs, ...(addedAllowRoot ? ["--allow-root"] : [])], addedAllowRoot };
}

/** Jupyter's own default data folder (jupyter_core's `jupyter_data_dir()`), to keep reading from it. */
export function defaultJupyterDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (platform === "darwin") return path.join(home, "Library", "Jupyter");
  if (platform === "win32") return path.join(env.APPDATA || path.join(home, "AppData", "Roaming"), "jupyter");
  return path.join(env.XDG_DATA_HOME || path.join(home, ".local", "share"), "jupyter");
}

/** Jupyter's own default config folder (jupyter_core's `jupyter_config_dir()`), to keep reading from it. */
export function defaultJupyterConfigDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return env.JUPYTER_CONFIG_DIR || path.join(home, ".jupyter");
}

/**
 * The environment for the Jupyter that `npm run lab` starts: every folder Jupyter writes to is
 * under `<root>/.jupyter`: data (`.jupyter`: the kernelspec, the notebook trust database and its
 * key), runtime (`.jupyter/runtime`: connection files, the server's cookie secret and info files),
 * config (`.jupyter/config`: JupyterLab's settings and workspaces, the Notebook's front-end
 * settings, Jupyter's one-time `migrated` marker) and, when the user has none, IPython's folder
 * (the classic Notebook imports IPython, which creates ~/.ipython when missing). The user's usual
 * data and config folders stay on JUPYTER_PATH and JUPYTER_CONFIG_PATH, so the kernels,
 * extensions and settings there are still read; nothing is written there. `home` is the user's
 * home folder.
 */
export function labEnv(root: string, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): NodeJS.ProcessEnv {
  const local = path.join(root, ".jupyter");
  const userData = defaultJupyterDataDir(env, process.platform, home);
  const userConfig = defaultJupyterConfigDir(env, home);
  const localConfig = path.join(local, "config");
  const ipython = env.IPYTHONDIR || fs.existsSync(path.join(home, ".ipython")) ? {} : { IPYTHONDIR: path.join(local, "ipython") };
  const same = (a: string, b: string) => path.resolve(a) === path.resolve(b);
  return {
    ...env,
    JUPYTER_PATH: withJupyterPath(local, same(userData, local) ? env.JUPYTER_PATH : withJupyterPath(userData, env.JUPYTER_PATH)),
    JUPYTER_DATA_DIR: local,
    JUPYTER_RUNTIME_DIR: path.join(local, "runtime"),
    JUPYTER_CONFIG_DIR: localConfig,
    JUPYTER_CONFIG_PATH: same(userConfig, localConfig) ? env.JUPYTER_CONFIG_PATH : withJupyterPath(userConfig, env.JUPYTER_CONFIG_PATH),
    ...ipython,
  };
}

/** The variables labEnv may set (`--kernel-only` prints them as `export` lines). */
export const LAB_ENV_NAMES = ["JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH", "IPYTHONDIR"] as const;
