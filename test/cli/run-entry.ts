/**
 * Runs the executable's entry (lib/cli/main.ts) from the sources, and prints on stderr, last,
 * which tfjs packages and command modules the process loaded (the start-up test in score.test.ts):
 *   node --import tsx test/cli/run-entry.ts <args...>
 */
import Module from "module";

const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = loader._load;
const seen = new Set<string>();
loader._load = function (this: unknown, request: string, ...rest: unknown[]) {
  seen.add(request);
  return load.call(this, request, ...rest);
};
process.on("exit", () => {
  process.stderr.write(`loaded: ${[...seen].filter((r) => /tfjs|\/commands\//.test(r)).sort().join(" ")}\n`);
});
void (require("../../lib/cli/main") as typeof import("../../lib/cli/main")).main(process.argv);
