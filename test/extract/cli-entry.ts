/**
 * Runs the CLI from source, for tests that need a real process to interrupt.
 * LINEARITY_TEST_APPEND_DELAY_MS slows every dataset append down (a synchronous sleep), so a
 * test can reliably interrupt the process while it is still writing.
 */
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { main } from "../../lib/cli/main";

const delay = Number(process.env.LINEARITY_TEST_APPEND_DELAY_MS ?? 0);
if (delay > 0) {
  const append = HiddenStateWriter.prototype.append;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  HiddenStateWriter.prototype.append = function (this: HiddenStateWriter, ...args: Parameters<typeof append>): void {
    Atomics.wait(sleeper, 0, 0, delay);
    append.apply(this, args);
  };
}
void main(process.argv);
