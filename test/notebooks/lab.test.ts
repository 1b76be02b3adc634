/**
 * `npm run lab`: the kernelspec it writes into the clone, the command line and environment it
 * gives Jupyter, and what it says without Jupyter. The jupyter it runs is injected
 * (LINEARITY_JUPYTER, or a PATH holding only a stub), so these tests do not depend on what else
 * the machine has installed. The last test starts the real classic Notebook where one is
 * installed (skipped otherwise).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, test } from "vitest";
import { kernelJson, withJupyterPath, writeLocalKernelspec } from "../../scripts/kernelspec";
import { defaultJupyterDataDir, jupyterArgv, jupyterCommand, labEnv, parseLabArgs } from "../../scripts/lab-env";
import { findJupyter, findJupyterPython } from "./jupyter";

const root = path.resolve(__dirname, "../..");
const script = path.join(root, "dist", "scripts", "lab.js");
const isRoot = process.getuid?.() === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lab-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * A stand-in `jupyter` in `dir`: `--version` succeeds, `lab --version` exits env STUB_LAB (0: JupyterLab
 * installed), `notebook --version` succeeds; any other call records its argv, cwd and JUPYTER_*
 * / IPYTHONDIR environment in folder env STUB_OUT and exits 3.
 */
function writeStub(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const stub = path.join(dir, "jupyter");
  // A Node script (this Node, by absolute path), so it needs nothing on PATH.
  fs.writeFileSync(
    stub,
    [
      `#!${process.execPath}`,
      'const fs = require("fs"), path = require("path");',
      "const args = process.argv.slice(2);",
      'if (args[0] === "--version") process.exit(0);',
      'if (args[1] === "--version") process.exit(args[0] === "lab" ? Number(process.env.STUB_LAB || 0) : 0);',
      "const out = process.env.STUB_OUT;",
      'fs.writeFileSync(path.join(out, "argv"), args.join("\\n") + "\\n");',
      'fs.writeFileSync(path.join(out, "cwd"), process.cwd() + "\\n");',
      "const env = Object.entries(process.env).filter(([k]) => /^(JUPYTER|IPYTHONDIR)/.test(k)).map(([k, v]) => `${k}=${v}`).sort();",
      'fs.writeFileSync(path.join(out, "env"), env.join("\\n") + "\\n");',
      "process.exit(3);",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return stub;
}

function runLab(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [script, ...args], { encoding: "utf8", env: { HOME: tmp, ...env } });
}

function recorded(out: string) {
  const lines = (f: string) => fs.readFileSync(path.join(out, f), "utf8").trimEnd().split("\n");
  const env = Object.fromEntries(lines("env").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  return { argv: lines("argv"), cwd: lines("cwd")[0], env };
}

describe("npm run lab", () => {
  test("the kernelspec runs this Node on this clone's tslab and lives inside the clone", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-test-"));
    try {
      const { jupyterPath, specDir } = writeLocalKernelspec(dir);
      expect(specDir).toBe(path.join(dir, ".jupyter", "kernels", "tslab"));
      const spec = JSON.parse(fs.readFileSync(path.join(specDir, "kernel.json"), "utf8"));
      expect(spec).toEqual(kernelJson(dir));
      expect(spec.argv).toEqual([process.execPath, path.join(dir, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"]);
      expect(fs.readdirSync(path.join(jupyterPath, "kernels"))).toEqual(["tslab"]); // no extra jslab kernel
      expect(withJupyterPath("/a", "/b")).toBe(`/a${path.delimiter}/b`);
      expect(withJupyterPath("/a", "")).toBe("/a");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("its own options are read, every other argument goes to Jupyter in order, all after `--`", () => {
    expect(parseLabArgs(["--no-browser", "--port", "8890", "--register", "--NotebookApp.token=x"])).toEqual({
      register: true,
      kernelOnly: false,
      help: false,
      jupyterArgs: ["--no-browser", "--port", "8890", "--NotebookApp.token=x"],
    });
    expect(parseLabArgs(["--kernel-only", "--", "--register", "-h"])).toEqual({ register: false, kernelOnly: true, help: false, jupyterArgs: ["--register", "-h"] });
    expect(parseLabArgs(["-h"]).help).toBe(true);
  });

  test("--allow-root is added as root only, once", () => {
    expect(jupyterArgv("lab", ["--no-browser"], false)).toEqual({ argv: ["lab", "--no-browser"], addedAllowRoot: false });
    expect(jupyterArgv("notebook", ["--no-browser"], true)).toEqual({ argv: ["notebook", "--no-browser", "--allow-root"], addedAllowRoot: true });
    expect(jupyterArgv("lab", ["--allow-root"], true).argv).toEqual(["lab", "--allow-root"]);
    expect(jupyterArgv("lab", ["--ServerApp.allow_root=True"], true).argv).toEqual(["lab", "--ServerApp.allow_root=True"]);
    expect(jupyterArgv("notebook", ["--NotebookApp.allow_root=True"], true).addedAllowRoot).toBe(false);
  });

  test("Jupyter's data, runtime and config folders are in the clone; the user's are still read", () => {
    const home = path.join(tmp, "home-a");
    fs.mkdirSync(home, { recursive: true });
    const env = labEnv("/clone", { JUPYTER_PATH: "/extra" }, home);
    const userData = path.join(home, ".local", "share", "jupyter");
    expect(env.JUPYTER_PATH).toBe(["/clone/.jupyter", userData, "/extra"].join(path.delimiter));
    expect(env.JUPYTER_DATA_DIR).toBe("/clone/.jupyter");
    expect(env.JUPYTER_RUNTIME_DIR).toBe("/clone/.jupyter/runtime");
    expect(env.JUPYTER_CONFIG_DIR).toBe("/clone/.jupyter/config");
    expect(env.JUPYTER_CONFIG_PATH).toBe(path.join(home, ".jupyter"));
    expect(labEnv("/clone", { JUPYTER_CONFIG_DIR: "/c", JUPYTER_CONFIG_PATH: "/p" }, home).JUPYTER_CONFIG_PATH).toBe(`/c${path.delimiter}/p`);
    // No ~/.ipython yet: IPython's folder goes into the clone too; an existing one is the user's.
    expect(env.IPYTHONDIR).toBe("/clone/.jupyter/ipython");
    fs.mkdirSync(path.join(home, ".ipython"));
    expect(labEnv("/clone", {}, home).IPYTHONDIR).toBeUndefined();
    expect(defaultJupyterDataDir({ XDG_DATA_HOME: "/x" }, "linux", "/h")).toBe("/x/jupyter");
    expect(defaultJupyterDataDir({}, "darwin", "/h")).toBe("/h/Library/Jupyter");
    expect(defaultJupyterDataDir({ JUPYTER_DATA_DIR: "/d" }, "linux", "/h")).toBe("/d");
    expect(jupyterCommand({ LINEARITY_JUPYTER: "/opt/j/bin/jupyter" })).toBe("/opt/j/bin/jupyter");
    expect(jupyterCommand({})).toBe("jupyter");
  });

  test("without jupyter on PATH it prints how to install it and exits 1", () => {
    const empty = path.join(tmp, "empty-bin");
    fs.mkdirSync(empty, { recursive: true });
    const r = runLab([], { PATH: empty });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("npm run lab: `jupyter` is not on PATH.");
    expect(r.stderr).toContain("conda env create -f environment.yml");
  });

  test("a LINEARITY_JUPYTER that does not exist is named, exit 1", () => {
    const missing = path.join(tmp, "no-such", "jupyter");
    const r = runLab([], { PATH: "", LINEARITY_JUPYTER: missing });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`npm run lab: \`${missing}\` is not a working jupyter.`);
  });

  test("without JupyterLab it says so and starts the classic Notebook with the user's options, in notebooks/, files in .jupyter/", () => {
    const bin = path.join(tmp, "bin-classic");
    writeStub(bin);
    const out = fs.mkdtempSync(path.join(tmp, "out-"));
    const r = runLab(["--no-browser", "--port", "8890"], { PATH: bin, STUB_LAB: "1", STUB_OUT: out });
    expect(r.status).toBe(3); // Jupyter's exit status is passed on
    expect(r.stderr).toContain("JupyterLab is not installed (`jupyter lab` is missing): opening the classic Notebook.");
    expect(r.stderr).toContain("File > Trust Notebook");
    const { argv, cwd, env } = recorded(out);
    expect(argv).toEqual(["notebook", "--no-browser", "--port", "8890", ...(isRoot ? ["--allow-root"] : [])]);
    expect(r.stderr.includes("running as root (uid 0): adding --allow-root")).toBe(isRoot);
    expect(fs.realpathSync(cwd)).toBe(fs.realpathSync(path.join(root, "notebooks")));
    const local = path.join(root, ".jupyter");
    expect(env.JUPYTER_DATA_DIR).toBe(local);
    expect(env.JUPYTER_RUNTIME_DIR).toBe(path.join(local, "runtime"));
    expect(env.JUPYTER_PATH.split(path.delimiter)[0]).toBe(local);
    expect(env.JUPYTER_CONFIG_DIR).toBe(path.join(local, "config"));
  });

  test("with JupyterLab it starts `jupyter lab`; arguments after `--` reach it unread; LINEARITY_JUPYTER is the one run", () => {
    const bin = path.join(tmp, "bin-lab");
    const stub = writeStub(bin);
    const out = fs.mkdtempSync(path.join(tmp, "out-"));
    const r = runLab(["--allow-root", "--", "--register"], { PATH: "", LINEARITY_JUPYTER: stub, STUB_LAB: "0", STUB_OUT: out });
    expect(r.status).toBe(3);
    expect(r.stderr).not.toContain("classic Notebook");
    expect(r.stderr).not.toContain("adding --allow-root");
    expect(recorded(out).argv).toEqual(["lab", "--allow-root", "--register"]);
  });

  test("--kernel-only prints the environment to use and starts nothing", () => {
    const r = runLab(["--kernel-only"], { PATH: "" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^export JUPYTER_DATA_DIR=${path.join(root, ".jupyter").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`, "m"));
    expect(r.stdout).toMatch(/^export JUPYTER_RUNTIME_DIR=\S+runtime$/m);
  });

  test("Jupyter's own kernelspec lookup finds the kernel (skipped without python3's jupyter_client)", (ctx) => {
    const python = findJupyterPython("jupyter_client");
    if (!python) {
      console.warn("lab.test: no python3 with jupyter_client: skipping the kernelspec lookup check");
      ctx.skip();
    }
    const r = spawnSync(process.execPath, [script, "--kernel-only"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const jupyterPath = /^export JUPYTER_PATH=(.*)$/m.exec(r.stdout)![1].replace(/^'|'$/g, "");
    const found = spawnSync(python!, ["-c", "import json; from jupyter_client.kernelspec import KernelSpecManager as K; print(json.dumps(K().find_kernel_specs()))"], {
      encoding: "utf8",
      env: { ...process.env, JUPYTER_PATH: jupyterPath },
    });
    expect(JSON.parse(found.stdout).tslab).toBe(path.join(root, ".jupyter", "kernels", "tslab"));
  });

  test("the real classic Notebook starts (as root where the tests run as root), serves notebooks/ and the tslab kernel, and writes nothing in HOME (skipped without jupyter-notebook)", async (ctx) => {
    const jupyter = findJupyter("notebook");
    if (!jupyter) {
      console.warn("lab.test: no `jupyter notebook` installed: skipping the real-server check");
      return ctx.skip();
    }
    const home = fs.mkdtempSync(path.join(tmp, "home-"));
    const port = await freePort();
    const token = "lab-test";
    const child = spawn(process.execPath, [script, "--no-browser", "--port", String(port), `--NotebookApp.token=${token}`, `--ServerApp.token=${token}`], {
      env: { ...process.env, HOME: home, LINEARITY_JUPYTER: jupyter, XDG_DATA_HOME: "", XDG_CONFIG_HOME: "", XDG_CACHE_HOME: "", JUPYTER_CONFIG_DIR: "", JUPYTER_DATA_DIR: "", IPYTHONDIR: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    try {
      const contents = await poll(`http://127.0.0.1:${port}/api/contents?token=${token}`, 60_000);
      const names = (contents.content as { name: string }[]).map((c) => c.name);
      expect(names).toContain("00-smoke.ipynb");
      const specs = await poll(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`, 10_000);
      expect(Object.keys(specs.kernelspecs as object)).toContain("tslab");
      expect(stderr.includes("adding --allow-root")).toBe(isRoot);
      // SIGTERM to `npm run lab` stops the server too (it shuts down and frees the port).
      child.kill("SIGTERM");
      const code = await new Promise((resolve) => child.on("exit", resolve));
      expect(code).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/api/status?token=${token}`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((resolve) => child.on("exit", resolve));
      }
    }
    // Nothing written under HOME (runtime, data, config, IPython folders all in the clone).
    expect(listTree(home)).toEqual([]);
  });
});

function listTree(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [e.name + "/", ...listTree(path.join(dir, e.name)).map((s) => `${e.name}/${s}`)] : [e.name]));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function poll(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return (await r.json()) as Record<string, unknown>;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`no answer from ${url} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
