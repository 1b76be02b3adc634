/**
 * nbval's sanitize files: pairs of lines
 *
 *     regex: <Python regular expression>
 *     replace: <replacement>
 *
 * (the replace line directly after its regex line; anything else, e.g. `[section]` headers, is
 * ignored), applied in file order to every string output before comparison. A regex that occurs
 * twice keeps its first position and the last replacement (nbval stores them in an OrderedDict).
 *
 * The patterns are Python `re` syntax. This module accepts the subset that means the same in
 * JavaScript and rejects Python-only constructs with a one-line error naming the line, so a
 * sanitize file that works here also works with `pytest --nbval --nbval-sanitize-with`.
 */
import * as fs from "fs";

export interface SanitizeRule {
  /** The pattern as written (Python syntax). */
  source: string;
  /** Compiled JavaScript equivalent (global). */
  regex: RegExp;
  /** Replacement in JavaScript `String.replace` syntax. */
  replace: string;
  /** 1-based line of the `regex:` line. */
  line: number;
}

/** Converts a Python `re.sub` replacement (`\1`, `\g<1>`, `\g<name>`, `\\`, `\n`) to JS syntax. */
export function pyReplacementToJs(repl: string): string {
  let out = "";
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i];
    if (c === "$") {
      out += "$$";
      continue;
    }
    if (c !== "\\" || i + 1 >= repl.length) {
      out += c;
      continue;
    }
    const rest = repl.slice(i + 1);
    let m: RegExpMatchArray | null;
    if ((m = rest.match(/^(\d{1,2})/))) {
      out += `$${m[1]}`;
      i += m[1].length;
    } else if ((m = rest.match(/^g<(\d+)>/))) {
      out += `$${m[1]}`;
      i += m[0].length;
    } else if ((m = rest.match(/^g<([A-Za-z_]\w*)>/))) {
      out += `$<${m[1]}>`;
      i += m[0].length;
    } else {
      const esc: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", f: "\f", v: "\v", a: "\x07", b: "\b" };
      out += esc[rest[0]] ?? "\\" + rest[0]; // Python keeps unknown escapes of ASCII letters as errors; keep them literally
      i += 1;
    }
  }
  return out;
}

/** Converts a Python regex to a JS RegExp; throws on Python-only syntax. */
export function pyRegexToJs(pattern: string, where: string): RegExp {
  if (/\(\?P[<=]/.test(pattern)) {
    // (?P<name>...) -> (?<name>...), (?P=name) -> \k<name>
    pattern = pattern.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
  }
  if (/\\[AZ]/.test(pattern)) throw new Error(`${where}: \\A and \\Z are Python-only; use ^ and $ (without multiline they mean the same)`);
  if (/^\(\?[aiLmsux]+\)/.test(pattern)) throw new Error(`${where}: inline flags like (?i) are not supported here; write the pattern without them`);
  try {
    return new RegExp(pattern, "g");
  } catch (e) {
    throw new Error(`${where}: invalid regular expression: ${(e as Error).message}`);
  }
}

/** Parses a sanitize file's text, nbval's way (`^regex: (.*)$\n^replace: (.*)$`). */
export function parseSanitize(text: string, file = "sanitize file"): SanitizeRule[] {
  const lines = text.split("\n");
  const byPattern = new Map<string, SanitizeRule>();
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = /^regex: (.*)$/.exec(lines[i]);
    const r = /^replace: (.*)$/.exec(lines[i + 1]);
    if (!m || !r) continue;
    const where = `${file}:${i + 1}`;
    const previous = byPattern.get(m[1]);
    const rule: SanitizeRule = { source: m[1], regex: pyRegexToJs(m[1], where), replace: pyReplacementToJs(r[1]), line: previous?.line ?? i + 1 };
    byPattern.set(m[1], rule);
    i += 1;
  }
  return [...byPattern.values()].sort((a, b) => a.line - b.line);
}

/** Reads and parses a sanitize file. */
export function loadSanitize(file: string): SanitizeRule[] {
  return parseSanitize(fs.readFileSync(file, "utf8"), file);
}

/** Applies every rule in order (non-strings pass through unchanged, as in nbval). */
export function sanitize<T>(value: T, rules: readonly SanitizeRule[]): T {
  if (typeof value !== "string") return value;
  let s: string = value;
  for (const rule of rules) s = s.replace(rule.regex, rule.replace);
  return s as T;
}
