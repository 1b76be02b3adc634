/**
 * The Jupyter the front-end tests may start, and the python3 that has its packages. Env
 * LINEARITY_JUPYTER names the jupyter (as for `npm run lab`); LINEARITY_JUPYTER=none simulates a
 * machine without Jupyter (its python packages included), so `npm test` can be checked both ways.
 */
import { spawnSync } from "child_process";

const NONE = process.env.LINEARITY_JUPYTER === "none";

/** A `jupyter` whose `jupyter <sub> --version` works, or undefined. */
export function findJupyter(sub: "notebook" | "lab" = "notebook"): string | undefined {
  if (NONE) return undefined;
  const candidates = [process.env.LINEARITY_JUPYTER, "jupyter"].filter((c): c is string => Boolean(c));
  return candidates.find((j) => spawnSync(j, [sub, "--version"], { stdio: "ignore" }).status === 0);
}

/** A python3 that imports `module` (Debian's /usr/bin/python3 first: a pyenv python3 on PATH may lack Jupyter's packages), or undefined. */
export function findJupyterPython(module: string): string | undefined {
  if (NONE) return undefined;
  return ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["-c", `import ${module}`], { stdio: "ignore" }).status === 0);
}
