#!/usr/bin/env node
/*
 * Build the optional BLAS addon (native/) with the node-gyp that npm bundles. Run by `npm ci`
 * (prepare) and `npm run build:native`. A machine without a C compiler or Node headers gets a
 * one-line notice and the wasm / JavaScript routes; the install never fails because of it.
 */
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const nativeDir = path.join(root, "native");
if (process.env.LINEARITY_NATIVE === "0") {
  console.log("linearity-lab: LINEARITY_NATIVE=0, native BLAS addon not built");
  process.exit(0);
}

/** node-gyp: the copy npm sets for its scripts, else the one bundled next to npm itself. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(path.join(path.dirname(require.resolve("npm/package.json", { paths: [path.dirname(process.execPath), "/usr/lib/node_modules", "/usr/local/lib/node_modules"] })), "node_modules", "node-gyp", "bin", "node-gyp.js"));
  } catch {
    // npm not resolvable from here: only the environment's copy is tried
  }
  return candidates.find((c) => c && fs.existsSync(c));
}

const gyp = nodeGyp();
if (gyp === undefined) {
  console.log("linearity-lab: notice: node-gyp not found, native BLAS addon not built (wasm / JavaScript routes will be used)");
  process.exit(0);
}
const result = spawnSync(process.execPath, [gyp, "rebuild"], { cwd: nativeDir, encoding: "utf8" });
if (result.status !== 0) {
  const tail = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").filter((l) => /error|not found|ERR!/i.test(l)).slice(0, 3).join(" | ");
  console.log(`linearity-lab: notice: native BLAS addon not built (${tail || `node-gyp exited ${result.status}`}); wasm / JavaScript routes will be used`);
  process.exit(0);
}
console.log("linearity-lab: native BLAS addon built (native/build/Release/blas.node)");
