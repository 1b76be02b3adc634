/**
 * Runs the `linearity` CLI from the TypeScript sources (no build needed):
 *   node --import tsx test/cli/run-cli.ts <args...>
 * Used by the CLI tests to check exit codes and output of a real process.
 */
import { main } from "../../lib/cli/main";

void main(process.argv);
