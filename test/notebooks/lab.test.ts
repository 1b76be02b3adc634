/**
 * `npm run lab`: the kernelspec it writes into the clone, and what it says without Jupyter.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { kernelJson, withJupyterPath, writeLocalKernelspec } from "../../scripts/kernelspec";

const root = path.resolve(__dirname, "../..");

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

  test("without jupyter on PATH it prints how to install it and exits 1", () => {
    const script = path.join(root, "dist", "scripts", "lab.js");
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", env: { PATH: path.dirname(process.execPath), HOME: os.tmpdir() } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("npm run lab: `jupyter` is not on PATH.");
    expect(r.stderr).toContain("conda env create -f environment.yml");
  });

  test("Jupyter's own kernelspec lookup finds the kernel (skipped without python3's jupyter_client)", (ctx) => {
    const python = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["-c", "import jupyter_client"]).status === 0);
    if (!python) {
      console.warn("lab.test: no python3 with jupyter_client: skipping the kernelspec lookup check");
      ctx.skip();
    }
    const r = spawnSync(process.execPath, [path.join(root, "dist", "scripts", "lab.js"), "--kernel-only"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const jupyterPath = /^export JUPYTER_PATH=(.*)$/m.exec(r.stdout)![1];
    const found = spawnSync(python!, ["-c", "import json; from jupyter_client.kernelspec import KernelSpecManager as K; print(json.dumps(K().find_kernel_specs()))"], {
      encoding: "utf8",
      env: { ...process.env, JUPYTER_PATH: jupyterPath },
    });
    expect(JSON.parse(found.stdout).tslab).toBe(path.join(root, ".jupyter", "kernels", "tslab"));
  });
});
