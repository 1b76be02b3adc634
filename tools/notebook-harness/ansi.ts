/**
 * ANSI escape sequences in outputs: the patched kernel colours its tracebacks' error line as
 * IPython does (`\x1b[0;31mRangeError\x1b[0m: boom`). Messages and the HTML reports read them
 * without the codes.
 */

// CSI sequences (colours, cursor moves): ESC [ parameters intermediates final byte.
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;

/** `text` without ANSI CSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(CSI, "");
}
