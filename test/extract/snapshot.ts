/** Comparing dataset folders in extraction tests (resume, streaming, interruption). */
import * as fs from "node:fs";
import * as path from "node:path";

/** Every file of a dataset folder (path -> bytes as base64), manifest timestamps blanked. */
export function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (name === "manifest.json") {
        const m = JSON.parse(fs.readFileSync(p, "utf8"));
        m.created = m.updated = "";
        files.set(path.relative(dir, p), JSON.stringify(m));
      } else files.set(path.relative(dir, p), fs.readFileSync(p).toString("base64"));
    }
  };
  walk(dir);
  return files;
}
