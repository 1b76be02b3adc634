import * as fs from "fs";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { loadSanitize, parseSanitize, pyReplacementToJs, sanitize } from "../../tools/notebook-harness/sanitize";

const root = path.resolve(__dirname, "../..");

describe("sanitize files (nbval format)", () => {
  test("reads regex/replace pairs in order, ignoring section headers and stray lines", () => {
    const rules = parseSanitize("[a]\nregex: a+\nreplace: A\n\n[b]\nregex: b\nnot a replace line\nregex: c(\\d)\nreplace: C\\1\n");
    expect(rules.map((r) => r.source)).toEqual(["a+", "c(\\d)"]);
    expect(sanitize("aab c7 b", rules)).toBe("Ab C7 b");
  });

  test("a repeated regex keeps its first position and its last replacement (OrderedDict update)", () => {
    const rules = parseSanitize("regex: x\nreplace: 1\nregex: 1\nreplace: one\nregex: x\nreplace: 2\n");
    expect(rules.map((r) => [r.source, r.replace])).toEqual([["x", "2"], ["1", "one"]]);
    expect(sanitize("x1", rules)).toBe("2one");
  });

  test("Python replacement syntax becomes JavaScript syntax", () => {
    expect(pyReplacementToJs("\\1-\\g<2>-\\g<name>")).toBe("$1-$2-$<name>");
    expect(pyReplacementToJs("cost $5\\n")).toBe("cost $$5\n");
    expect(sanitize("price 12", parseSanitize("regex: (\\d+)\nreplace: $\\1\n"))).toBe("price $12");
  });

  test("Python-only syntax is rejected with file and line", () => {
    expect(() => parseSanitize("x\nregex: \\Afoo\nreplace: y\n", "s.cfg")).toThrow(/^s\.cfg:2: \\A and \\Z are Python-only/);
    expect(() => parseSanitize("regex: (?i)foo\nreplace: y\n", "s.cfg")).toThrow(/^s\.cfg:1: inline flags/);
    expect(() => parseSanitize("regex: (unclosed\nreplace: y\n", "s.cfg")).toThrow(/^s\.cfg:1: invalid regular expression/);
  });

  test("named groups in Python syntax are translated", () => {
    const rules = parseSanitize("regex: (?P<n>\\d+)-(?P=n)\nreplace: twice \\g<n>\n");
    expect(sanitize("7-7 7-8", rules)).toBe("twice 7 7-8");
  });

  test("non-strings pass through unchanged (JSON MIME values are not sanitized)", () => {
    const rules = parseSanitize("regex: 1\nreplace: 2\n");
    const fig = { y: [1] };
    expect(sanitize(fig, rules)).toBe(fig);
  });

  test("notebooks/sanitize.cfg gives the same results as Python's re (fixture made by Python)", () => {
    const rules = loadSanitize(path.join(root, "notebooks", "sanitize.cfg"));
    const pairs = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "sanitize-python.json"), "utf8")) as [string, string][];
    expect(pairs.length).toBeGreaterThan(5);
    for (const [input, expected] of pairs) expect(sanitize(input, rules)).toBe(expected);
  });

  test("notebooks/sanitize.cfg: floats differing after the 4th decimal compare equal, larger differences do not", () => {
    const rules = loadSanitize(path.join(root, "notebooks", "sanitize.cfg"));
    expect(sanitize("score 0.97213", rules)).toBe(sanitize("score 0.97219999", rules));
    expect(sanitize("score 0.9721", rules)).not.toBe(sanitize("score 0.9731", rules));
  });
});
