/**
 * nbval's output comparison, reimplemented (nbval/plugin.py `compare_outputs`,
 * `coalesce_streams`, `transform_streams_for_comparison`):
 *
 * 1. Streams with the same name are merged into the first one; `x\b` pairs are removed until
 *    none are left and text up to a `\r` not followed by `\n` is dropped (per line).
 * 2. Each stream becomes `{output_type: "stream", <name>: text}`.
 * 3. All outputs are flattened into `key -> [values]`: output keys and the MIME keys of `data`
 *    together, minus the skipped keys (metadata, traceback, output_type, name, execution_count,
 *    prompt_number, widget views, image/png, image/jpeg). Strings are sanitized.
 * 4. Both sides must have the same keys, the same number of values per key, and equal values
 *    in order (JSON MIME values by deep equality).
 */
import { Output, stringifyPy } from "./nbformat";
import { sanitize, SanitizeRule } from "./sanitize";

/** Keys nbval never compares (without --nbdime). */
export const SKIP_COMPARE: readonly string[] = [
  "metadata",
  "traceback",
  "prompt_number",
  "output_type",
  "name",
  "execution_count",
  "application/vnd.jupyter.widget-view+json",
  "image/png",
  "image/jpeg",
];

/** Merges same-name streams and resolves backspaces and carriage returns, as nbval does. */
export function coalesceStreams(outputs: readonly Output[]): Output[] {
  const result: Output[] = [];
  const streams = new Map<string, { output_type: "stream"; name: "stdout" | "stderr"; text: string }>();
  for (const o of outputs) {
    if (o.output_type === "stream") {
      const first = streams.get(o.name);
      if (first) first.text += o.text;
      else {
        const copy = { ...o };
        streams.set(o.name, copy);
        result.push(copy);
      }
    } else result.push(o);
  }
  for (const s of streams.values()) {
    let prev: string;
    do {
      prev = s.text;
      s.text = s.text.replace(/[^\n]\x08/g, "");
    } while (s.text.length < prev.length);
    s.text = s.text.replace(/^.*\r(?=[^\n])/gm, "");
  }
  return result;
}

/** nbval's flattened view of a cell's outputs: key -> values in order, sanitized. */
export function flattenOutputs(outputs: readonly Output[], rules: readonly SanitizeRule[], skip: readonly string[] = SKIP_COMPARE): Map<string, unknown[]> {
  const flat = new Map<string, unknown[]>();
  const add = (k: string, v: unknown) => {
    const list = flat.get(k) ?? [];
    list.push(sanitize(v, rules));
    flat.set(k, list);
  };
  for (const o of coalesceStreams(outputs)) {
    const entries: [string, unknown][] = o.output_type === "stream" ? [["output_type", "stream"], [o.name, o.text]] : Object.entries(o);
    for (const [key, value] of entries) {
      if (skip.includes(key)) continue;
      if (key === "data" && value !== null && typeof value === "object") {
        for (const [mime, v] of Object.entries(value)) if (!skip.includes(mime)) add(mime, v);
      } else add(key, value);
    }
  }
  return flat;
}

/** Python `==` on JSON values: dicts ignore key order, lists compare in order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export interface Comparison {
  ok: boolean;
  /** Human-readable explanation with a diff of expected vs actual (empty when ok). */
  message: string;
}

const clip = (s: string, n = 240) => (s.length > n ? s.slice(0, n) + `… (${s.length} chars)` : s);

/** Text for diffs; JSON with sorted keys, so key order (which is not compared) does not show. */
function asText(v: unknown): string {
  return typeof v === "string" ? v : stringifyPy(v);
}

/**
 * A compact line diff of two texts: the common head and tail are elided, the differing lines are
 * shown as `-` (expected) and `+` (actual), long lines clipped around the first difference.
 */
export function textDiff(expected: string, actual: string, maxLines = 30): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const removed = a.slice(head, a.length - tail);
  const added = b.slice(head, b.length - tail);
  const out: string[] = [];
  if (head > 0) out.push(`  … ${head} equal line${head === 1 ? "" : "s"}`);
  const clipAround = (line: string, other: string | undefined) => {
    if (line.length <= 240 || other === undefined) return clip(line);
    let i = 0;
    while (i < line.length && i < other.length && line[i] === other[i]) i++;
    const start = Math.max(0, i - 80);
    return `${start > 0 ? `…[col ${start}]` : ""}${line.slice(start, start + 200)}…`;
  };
  removed.slice(0, maxLines).forEach((l, i) => out.push(`- ${clipAround(l, added[i])}`));
  if (removed.length > maxLines) out.push(`- … ${removed.length - maxLines} more`);
  added.slice(0, maxLines).forEach((l, i) => out.push(`+ ${clipAround(l, removed[i])}`));
  if (added.length > maxLines) out.push(`+ … ${added.length - maxLines} more`);
  if (tail > 0) out.push(`  … ${tail} equal line${tail === 1 ? "" : "s"}`);
  return out.join("\n");
}

/** Compares fresh outputs (`actual`) with stored ones (`expected`) by nbval's rules. */
export function compareOutputs(actual: readonly Output[], expected: readonly Output[], rules: readonly SanitizeRule[] = [], skip: readonly string[] = SKIP_COMPARE): Comparison {
  const test = flattenOutputs(actual, rules, skip);
  const ref = flattenOutputs(expected, rules, skip);
  const missing = [...ref.keys()].filter((k) => !test.has(k));
  const unexpected = [...test.keys()].filter((k) => !ref.has(k));
  const show = (m: Map<string, unknown[]>, keys: string[]) => keys.map((k) => `  ${k}: ${clip(m.get(k)!.map(asText).join(" | "))}`).join("\n");
  if (missing.length) return { ok: false, message: `Missing output fields from running code: ${missing.join(", ")}\nexpected (stored):\n${show(ref, missing)}` };
  if (unexpected.length) return { ok: false, message: `Unexpected output fields from running code: ${unexpected.join(", ")}\nactual (fresh run):\n${show(test, unexpected)}` };
  for (const [key, refValues] of ref) {
    const testValues = test.get(key)!;
    if (refValues.length !== testValues.length) {
      return { ok: false, message: `dissimilar number of outputs for key "${key}": stored ${refValues.length}, fresh ${testValues.length}\n${textDiff(refValues.map(asText).join("\n"), testValues.map(asText).join("\n"))}` };
    }
    for (let i = 0; i < refValues.length; i++) {
      if (!deepEqual(refValues[i], testValues[i])) {
        return { ok: false, message: `Cell outputs differ in "${key}" (output ${i + 1} of ${refValues.length}; after sanitizing; - stored, + fresh):\n${textDiff(asText(refValues[i]), asText(testValues[i]))}` };
      }
    }
  }
  return { ok: true, message: "" };
}
