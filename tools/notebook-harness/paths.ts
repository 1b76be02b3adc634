/**
 * Stored outputs must not carry the paths of the machine that ran them (a stack trace names
 * every file it passes through). Before a notebook is written back, absolute paths into the
 * project are rewritten relative to the notebook's folder (`../dist/lib/...`), and the home
 * folder becomes `~`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Output } from "./nbformat";

/** The nearest folder at or above `dir` holding a package.json, else `dir` itself. */
export function projectRoot(dir: string): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "package.json"))) return d;
    if (path.dirname(d) === d) return path.resolve(dir);
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A function that rewrites machine paths in text for a notebook in `notebookDir`. */
export function pathRewriter(notebookDir: string): (text: string) => string {
  const root = projectRoot(notebookDir);
  const rel = path.relative(path.resolve(notebookDir), root).split(path.sep).join("/") || ".";
  const rules: [RegExp, string][] = [];
  // The project root, as given and with symbolic links resolved, longest first.
  const roots = [...new Set([root, safeRealpath(root)])].sort((a, b) => b.length - a.length);
  for (const r of roots) rules.push([new RegExp(`${escapeRegExp(r)}(?=[/\\\\]|\\b|$)`, "g"), rel]);
  const home = os.homedir();
  if (home && home !== "/" && !root.startsWith(home)) rules.push([new RegExp(`${escapeRegExp(home)}(?=[/\\\\])`, "g"), "~"]);
  return (text) => rules.reduce((t, [re, to]) => t.replace(re, to), text);
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Rewrites machine paths in every text of `outputs` (streams, errors, text MIME data); returns new outputs. */
export function stripMachinePaths(outputs: Output[], notebookDir: string): Output[] {
  const rewrite = pathRewriter(notebookDir);
  return outputs.map((o): Output => {
    switch (o.output_type) {
      case "stream":
        return { ...o, text: rewrite(o.text) };
      case "error":
        return { ...o, evalue: rewrite(o.evalue), traceback: o.traceback.map(rewrite) };
      default: {
        const data = Object.fromEntries(Object.entries(o.data).map(([mime, v]) => [mime, typeof v === "string" && (mime.startsWith("text/") || mime === "image/svg+xml") ? rewrite(v) : v]));
        return { ...o, data };
      }
    }
  });
}
