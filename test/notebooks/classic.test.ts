/**
 * The real classic Notebook (Debian's jupyter-notebook) in headless Chromium, with the tslab
 * kernel: a scratch notebook's cells are run from the page (Jupyter.notebook.execute_all_cells),
 * and a thrown error must show its name in red, as the Notebook shows IPython's errors (it
 * colours errors only through the ANSI codes in the traceback; patches/tslab+1.0.22.patch adds
 * them). Skipped, with a notice, without `jupyter notebook` or Chromium (CHROMIUM=none and
 * LINEARITY_JUPYTER=none simulate their absence).
 * Env LINEARITY_SCREENSHOTS=<folder> keeps a screenshot of the page.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, test } from "vitest";
import { kernelJson } from "../../scripts/kernelspec";
import { labEnv } from "../../scripts/lab-env";
import { findChromium } from "../plot/lab/lab-page";
import { findJupyter, findJupyterPython } from "./jupyter";

const root = path.resolve(__dirname, "../..");
const chromium = findChromium();
const jupyter = findJupyter("notebook");
const colourPatched = fs.readFileSync(path.join(root, "node_modules", "tslab", "dist", "jupyter.js"), "utf8").includes('const RED = "\\x1b[0;31m"');
const missing = [!chromium && "Chromium", !jupyter && "`jupyter notebook`", !colourPatched && "the colour part of patches/ in node_modules/tslab (run `npx patch-package`)"].filter(Boolean);
if (missing.length > 0) console.warn(`test/notebooks/classic.test.ts: SKIPPED, no ${missing.join(", no ")}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "classic-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The page script: wait for the kernel, run every cell, wait for the error, report what shows. */
const PAGE_SCRIPT = `(async () => {
  const wait = async (ok, ms, what) => {
    const until = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > until) throw new Error("timed out waiting for " + what);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await wait(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel_busy === false, 120000, "the kernel");
  Jupyter.notebook.clear_all_output();
  Jupyter.notebook.execute_all_cells();
  const printed = (text) => Array.from(document.querySelectorAll(".output_stdout")).some((e) => e.innerText.includes(text));
  await wait(() => document.querySelector(".output_error") && printed("after"), 120000, "the outputs");
  const err = document.querySelector(".output_error");
  const red = err.querySelector(".ansi-red-fg");
  const stdout = document.querySelector(".output_stdout");
  return {
    errorText: err.innerText,
    redText: red ? red.textContent : null,
    redColour: red ? getComputedStyle(red).color : null,
    stdoutColour: stdout ? getComputedStyle(stdout).color : null,
    after: printed("after"),
    outputs: document.querySelectorAll(".output_area").length,
  };
})()`;

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

async function waitForServer(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`no answer from ${url} in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** [r, g, b] of a CSS colour `rgb(...)`. */
const rgb = (css: string | null) => (css ?? "").match(/\d+/g)!.slice(0, 3).map(Number);

/** Starts the classic Notebook in `dir` (Jupyter's folders in `dir/.jupyter`, as `npm run lab` keeps them in the clone). */
async function startNotebook(dir: string): Promise<{ base: string; token: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const token = "classic-test";
  const server = spawn(jupyter!, ["notebook", "--no-browser", `--port=${port}`, `--NotebookApp.token=${token}`, ...(process.getuid?.() === 0 ? ["--allow-root"] : [])], {
    cwd: dir,
    env: notebookEnv(dir),
    stdio: "ignore",
  });
  const stop = async () => {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  };
  try {
    await waitForServer(`http://127.0.0.1:${port}/api/status?token=${token}`, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { base: `http://127.0.0.1:${port}`, token, stop };
}

/** The environment for Jupyter (and nbformat.sign) working in `dir`: labEnv's folders under `dir/.jupyter`, an empty HOME. */
function notebookEnv(dir: string): NodeJS.ProcessEnv {
  const home = path.join(tmp, "home");
  fs.mkdirSync(home, { recursive: true });
  return { ...labEnv(dir, { ...process.env, JUPYTER_PATH: "", JUPYTER_DATA_DIR: "", JUPYTER_CONFIG_DIR: "" }, home), HOME: home };
}

/** Opens `url` in headless Chromium, evaluates `script` (an expression giving a promise), returns its JSON value. */
function inChromium(url: string, script: string, screenshot?: string): Record<string, unknown> {
  const file = path.join(tmp, `page-${Math.random().toString(36).slice(2)}.js`);
  fs.writeFileSync(file, script);
  const shots = process.env.LINEARITY_SCREENSHOTS;
  const args = [
    ...(Number(process.versions.node.split(".")[0]) < 22 ? ["--experimental-websocket"] : []),
    "--import",
    "tsx",
    path.join(root, "test", "plot", "browser", "cdp-run.ts"),
    chromium!,
    url,
    file,
    ...(shots && screenshot ? [path.join(shots, screenshot)] : []),
  ];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: root, timeout: 240_000 });
  const result = JSON.parse(r.stdout.trim().split("\n").pop() || "{}") as { value?: Record<string, unknown>; error?: string };
  expect(result.error).toBeUndefined();
  return result.value!;
}

/** Writes the tslab kernelspec (this clone's tslab) into `dir/.jupyter`. */
function writeKernel(dir: string): void {
  fs.mkdirSync(path.join(dir, ".jupyter", "kernels", "tslab"), { recursive: true });
  fs.writeFileSync(path.join(dir, ".jupyter", "kernels", "tslab", "kernel.json"), JSON.stringify(kernelJson(root)));
}

describe.skipIf(missing.length > 0)("the classic Notebook (headless Chromium)", () => {
  test("a thrown RangeError shows its name in ANSI red, the text around it not; Run All goes on past a raises-exception cell", async () => {
    const dir = path.join(tmp, "red");
    fs.mkdirSync(dir, { recursive: true });
    writeKernel(dir);
    const cell = (source: string, tags: string[] = []) => ({ cell_type: "code", execution_count: null, metadata: { tags }, outputs: [], source });
    const notebook = {
      cells: [cell('console.log("before")'), cell('throw new RangeError("boom")', ["raises-exception"]), cell('console.log("after")')],
      metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    fs.writeFileSync(path.join(dir, "red.ipynb"), JSON.stringify(notebook));
    const server = await startNotebook(dir);
    try {
      const v = inChromium(`${server.base}/notebooks/red.ipynb?token=${server.token}`, PAGE_SCRIPT, "classic-notebook-error.png");
      expect(v.errorText).toMatch(/^RangeError: boom/);
      expect(v.redText).toBe("RangeError");
      expect(v.after).toBe(true);
      const [red, green, blue] = rgb(v.redColour as string);
      expect(red).toBeGreaterThan(150); // the Notebook's ansi-red-fg, #e75c58
      expect(Math.max(green, blue)).toBeLessThan(red - 80);
      const plain = rgb(v.stdoutColour as string);
      expect(Math.max(...plain) - Math.min(...plain)).toBeLessThan(30); // stdout stays grey/black
    } finally {
      await server.stop();
    }
  }, 300_000);

  test("`python3 -m nbformat.sign NOTEBOOK` (docs/notebooks.md) trusts a notebook: its plots draw; unsigned, the static pictures show", async (ctx) => {
    const python = findJupyterPython("nbformat.sign");
    if (!python) {
      console.warn("classic.test: no python3 with nbformat: skipping the trust check");
      return ctx.skip();
    }
    const dir = path.join(tmp, "trust");
    fs.mkdirSync(dir, { recursive: true });
    writeKernel(dir);
    fs.copyFileSync(path.join(root, "notebooks", "00-smoke.ipynb"), path.join(dir, "signed.ipynb"));
    // Trust is per content digest: the unsigned copy differs from the signed one by a metadata field.
    const unsigned = JSON.parse(fs.readFileSync(path.join(root, "notebooks", "00-smoke.ipynb"), "utf8"));
    unsigned.metadata.linearity_test = "unsigned copy";
    fs.writeFileSync(path.join(dir, "unsigned.ipynb"), JSON.stringify(unsigned));
    const signed = spawnSync(python, ["-m", "nbformat.sign", "signed.ipynb"], { cwd: dir, env: notebookEnv(dir), encoding: "utf8" });
    expect(signed.status, signed.stderr).toBe(0);
    const plots = JSON.parse(fs.readFileSync(path.join(dir, "signed.ipynb"), "utf8")).cells.flatMap((c: { outputs?: { data?: object }[] }) => c.outputs ?? []).filter((o: { data?: object }) => o.data && "application/vnd.plotly.v1+json" in o.data).length;
    expect(plots).toBeGreaterThan(0);
    const view = `(async () => {
      const until = Date.now() + 60000;
      const count = () => ({ trusted: Jupyter.notebook.trusted, drawn: document.querySelectorAll(".js-plotly-plot .main-svg").length > 0 ? document.querySelectorAll(".js-plotly-plot").length : 0, pictures: document.querySelectorAll("img.linearity-plot-static").length, notes: document.querySelectorAll(".linearity-plot-note").length });
      while (!(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded)) { if (Date.now() > until) throw new Error("notebook not loaded"); await new Promise((r) => setTimeout(r, 200)); }
      await new Promise((r) => setTimeout(r, 3000));
      return count();
    })()`;
    const server = await startNotebook(dir);
    try {
      const t = inChromium(`${server.base}/notebooks/signed.ipynb?token=${server.token}`, view, "classic-notebook-signed.png");
      expect(t.trusted).toBe(true);
      expect(t.drawn).toBe(plots);
      const u = inChromium(`${server.base}/notebooks/unsigned.ipynb?token=${server.token}`, view, "classic-notebook-unsigned.png");
      expect(u.trusted).toBe(false);
      expect(u.drawn).toBe(0);
      expect(u.pictures).toBe(plots);
    } finally {
      await server.stop();
    }
  }, 300_000);
});
