/**
 * Builds the JupyterLab rendering page (page.ts) into a folder: the bundle (esbuild, from
 * the @jupyterlab npm packages), the notebooks' stored outputs as a script, and index.html.
 */
import * as fs from "fs";
import * as path from "path";
import { readNotebook } from "../../../tools/notebook-harness/nbformat";

/** Chromium's binary, or undefined when none is installed. Env CHROMIUM names one; CHROMIUM=none simulates none. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM === "none") return undefined;
  const candidates = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].filter((c): c is string => Boolean(c));
  return candidates.find((c) => fs.existsSync(c));
}

/** Opens `page` (with `hash`) in headless Chromium and returns what page.ts wrote into <pre id="result">. */
export function runPage(chromium: string, page: string, hash: string): unknown {
  const { execFileSync } = require("child_process") as typeof import("child_process");
  const dom = execFileSync(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--virtual-time-budget=20000", "--dump-dom", `file://${page}#${hash}`], {
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    stdio: ["ignore", "pipe", "ignore"],
    timeout: 120_000,
  });
  const m = /<pre id="result">([^<]*)<\/pre>/.exec(dom);
  if (!m || m[1] === "") throw new Error(`the page wrote no result (#${hash})`);
  const text = m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#39;/g, "'").replace(/&amp;/g, "&");
  return JSON.parse(text);
}

const root = path.resolve(__dirname, "../../..");

/** plotly's own JupyterLab renderer module (npm jupyterlab-plotly), or undefined where it is not installed. */
export function plotlyLabRenderer(): string | undefined {
  const file = path.join(root, "node_modules", "jupyterlab-plotly", "lib", "plotly-renderer.js");
  return fs.existsSync(file) ? file : undefined;
}

/** Writes index.html, page.js and cells.js for `notebooks` into `outDir`; returns index.html's path. */
export async function buildLabPage(notebooks: string[], outDir: string): Promise<string> {
  const esbuild = await import("esbuild");
  fs.mkdirSync(outDir, { recursive: true });
  const renderer = plotlyLabRenderer();
  await esbuild.build({
    entryPoints: [path.join(__dirname, "page.ts")],
    bundle: true,
    format: "iife",
    platform: "browser",
    outfile: path.join(outDir, "page.js"),
    loader: { ".svg": "text", ".css": "empty" },
    define: { "process.env.NODE_ENV": '"production"', global: "window" },
    logLevel: "error",
    plugins: [
      {
        name: "linearity-lab-page",
        setup(build) {
          // plotly's renderer, else the stand-in (page.ts reports which one ran).
          build.onResolve({ filter: /^linearity-plotly-renderer$/ }, () => ({ path: renderer ?? path.join(__dirname, "plotly-standin.ts") }));
          // The renderer loads plotly.js lazily as "plotly.js/dist/plotly": the bundled plotly.js-dist-min.
          build.onResolve({ filter: /^plotly\.js\/dist\/plotly$/ }, (args) => build.resolve("plotly.js-dist-min", { kind: args.kind, resolveDir: root }));
          // jupyterlab-plotly asks for Lumino 1's widgets: give it the page's Lumino (JupyterLab 4's), one Widget class.
          build.onResolve({ filter: /^@lumino\/widgets$/ }, (args) =>
            args.importer.includes(`${path.sep}jupyterlab-plotly${path.sep}`) ? build.resolve("@lumino/widgets", { kind: args.kind, resolveDir: root }) : undefined,
          );
        },
      },
    ],
  });
  const cells = notebooks.flatMap((file) => {
    const nb = readNotebook(file);
    let n = 0;
    return nb.cells.flatMap((c) => (c.cell_type === "code" ? [{ notebook: path.basename(file), cell: ++n, outputs: c.outputs }] : [])).filter((c) => c.outputs.length > 0);
  });
  fs.writeFileSync(path.join(outDir, "cells.js"), `window.NOTEBOOK_CELLS = ${JSON.stringify(cells).replace(/<\/script/gi, "<\\/script")};\n`);
  fs.writeFileSync(
    path.join(outDir, "index.html"),
    `<!doctype html><html><head><meta charset="utf-8"><title>JupyterLab rendering check</title></head><body style="width:900px">\n` +
      `<div id="untrusted"></div><div id="trusted"></div><div id="classic"></div><pre id="result"></pre>\n` +
      `<script src="cells.js"></script><script src="page.js"></script></body></html>\n`,
  );
  return path.join(outDir, "index.html");
}
