/**
 * Notebooks run the compiled library in dist/; a stale build makes them test old code. This
 * compares modification times of lib/**.ts and tools/**.ts (the harness that `npm start` runs)
 * with their dist/ counterparts.
 */
import * as fs from "fs";
import * as path from "path";

function walk(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** A warning naming the sources newer than their build output, or undefined when none are. */
export function staleBuildWarning(root: string): string | undefined {
  const stale = [...walk(path.join(root, "lib")), ...walk(path.join(root, "tools"))].filter((src) => {
    const js = path.join(root, "dist", path.relative(root, src)).replace(/\.ts$/, ".js");
    return !fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(src).mtimeMs;
  });
  if (stale.length === 0) return undefined;
  const names = stale.slice(0, 5).map((s) => path.relative(root, s)).join(", ");
  return `dist/ is older than ${stale.length} source file(s) (${names}${stale.length > 5 ? ", ..." : ""}): notebooks test the last build; run \`npm run build\``;
}
