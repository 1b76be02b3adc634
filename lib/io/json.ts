/**
 * Reading the JSON files a model or dataset folder holds (config.json, tokenizer.json,
 * manifest.json, trainer_state.json) with two guards JSON.parse(fs.readFileSync()) lacks:
 *
 * - a size cap: a file linked to /dev/zero, a FIFO or a runaway file is refused after
 *   `maxBytes` instead of growing memory until the process dies;
 * - parse errors that say where (line and column), not the file's first bytes, which V8's
 *   message quotes (`Unexpected token 'x', "xxxx..." is not valid JSON`): a binary file pasted
 *   into an error line helps nobody.
 */
import * as fs from "fs";
import { describeFsError } from "./errors";

/** Default cap: larger than any tokenizer.json on the Hub (the largest are tens of MB). */
export const JSON_MAX_BYTES = 256 * 1024 * 1024;

/** The text of `file`, refusing more than `maxBytes` (read in chunks, so devices stop too). */
export function readTextCapped(file: string, maxBytes = JSON_MAX_BYTES): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === "ENOENT" ? "no such file" : `cannot read: ${describeFsError(err)}`}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new Error(`${file}: is a folder, not a file`);
    if (st.isFile() && st.size > maxBytes) throw new Error(`${file}: ${st.size} bytes, more than the ${maxBytes} this reader accepts`);
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        throw new Error(`${file}: cannot read: ${describeFsError(err)}`);
      }
      if (n === 0) break;
      total += n;
      if (total > maxBytes) {
        throw new Error(`${file}: more than ${maxBytes} bytes (${st.isFile() ? "a file" : "a device or pipe"} that does not end?); not a file this reader accepts`);
      }
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Parse `text` (the content of `file`) as JSON; a syntax error becomes
 * `<file>: not valid JSON (<what>, at line L, column C)` without quoting the file.
 */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${jsonErrorWhere(text, (err as Error).message)})`);
  }
}

/** Read and parse a JSON file with both guards (see the file comment). */
export function readJsonFile(file: string, maxBytes = JSON_MAX_BYTES): unknown {
  return parseJsonText(file, readTextCapped(file, maxBytes));
}

/** "<what>, at line L, column C" from V8's message, without the excerpt it quotes. */
function jsonErrorWhere(text: string, message: string): string {
  let what = message.split(/[,(]| in JSON\b| at position\b/)[0].trim();
  // "Unexpected token 'x'": the token itself is one character of the file; keep it printable.
  what = what.replace(/'(.)'/u, (_m, c: string) => (/^[\x20-\x7e]$/.test(c) ? `'${c}'` : `character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`));
  let pos = Number(/position (\d+)/.exec(message)?.[1]);
  if (!Number.isInteger(pos) && /end of JSON input/i.test(message)) pos = text.length;
  if (!Number.isInteger(pos) || pos < 0) return what || "syntax error";
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return `${what || "syntax error"}, at line ${line}, column ${column}`;
}
