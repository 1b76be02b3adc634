/**
 * Runs the CLI from source, for tests that need a real process to interrupt.
 * LINEARITY_TEST_APPEND_DELAY_MS slows every dataset append down (a synchronous sleep), so a
 * test can reliably interrupt the process while it is still writing.
 * LINEARITY_TEST_KILL_AT_COMMIT=NAME:N sends this process SIGKILL just before the N-th atomic
 * file whose name is NAME is renamed into place (its temp file is complete and left behind).
 * LINEARITY_TEST_SIGNAL_AFTER_OPEN=SIG sends SIG to this process once the dataset is opened.
 */
import * as path from "node:path";
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { AtomicFileWriter } from "../../lib/io/atomic";
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
const killAt = /^(.+):(\d+)$/.exec(process.env.LINEARITY_TEST_KILL_AT_COMMIT ?? "");
if (killAt !== null) {
  const commit = AtomicFileWriter.prototype.commit;
  let seen = 0;
  AtomicFileWriter.prototype.commit = function (this: AtomicFileWriter): void {
    if (path.basename(this.dest) === killAt[1] && ++seen === Number(killAt[2])) process.kill(process.pid, "SIGKILL");
    commit.apply(this);
  };
}
const signalAfterOpen = process.env.LINEARITY_TEST_SIGNAL_AFTER_OPEN as NodeJS.Signals | undefined;
if (signalAfterOpen) {
  // A signal that arrives after the dataset is opened and before the first batch is written.
  const open = HiddenStateWriter.open;
  HiddenStateWriter.open = (...args: Parameters<typeof open>): HiddenStateWriter => {
    const w = open(...args);
    process.kill(process.pid, signalAfterOpen);
    return w;
  };
}
void main(process.argv);
