/**
 * Runs `linearity` from source for tests that signal a real training process.
 * LINEARITY_TEST_SIGNAL_AT_STEP=SIG:N sends SIG to this process during optimizer step N, so the
 * signal arrives at a known point of the run.
 */
import { main } from "../../lib/cli/main";
import { AdamW } from "../../lib/optim/adamw";

const at = /^(SIG[A-Z]+):(\d+)$/.exec(process.env.LINEARITY_TEST_SIGNAL_AT_STEP ?? "");
if (at !== null) {
  const step = AdamW.prototype.step;
  let n = 0;
  AdamW.prototype.step = function (this: AdamW, ...args: Parameters<typeof step>): void {
    if (++n === Number(at[2])) process.kill(process.pid, at[1] as NodeJS.Signals);
    step.apply(this, args);
  };
}
void main(process.argv);
