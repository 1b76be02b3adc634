/**
 * Runs the CLI from source and SIGKILLs itself at a chosen file-system call, for tests of what a
 * killed command leaves behind. LINEARITY_TEST_KILL_AT=CALL:NAME:N kills the process just before
 * the N-th call of fs.CALL (copyFileSync or renameSync) whose destination's base name is NAME
 * (for renameSync, N counts renames onto NAME).
 */
import * as path from "node:path";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { main } from "../../lib/cli/main";

const spec = /^(copyFileSync|renameSync):([^:]+):(\d+)$/.exec(process.env.LINEARITY_TEST_KILL_AT ?? "");
if (spec !== null) {
  const fs = createRequire(__filename)("fs") as Record<string, (...a: unknown[]) => unknown>;
  const original = fs[spec[1]];
  let seen = 0;
  fs[spec[1]] = (...args: unknown[]) => {
    if (path.basename(String(args[1])) === spec[2] && ++seen === Number(spec[3])) process.kill(process.pid, "SIGKILL");
    return original(...args);
  };
  syncBuiltinESMExports();
}
void main(process.argv);
