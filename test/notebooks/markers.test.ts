import { describe, expect, test } from "vitest";
import { cellOptions, commentMarkers, tagMarkers } from "../../tools/notebook-harness/markers";
import type { CodeCell } from "../../tools/notebook-harness/nbformat";

const cell = (source: string, tags?: string[]): CodeCell => ({ cell_type: "code", source, metadata: tags ? { tags } : {}, outputs: [], execution_count: 1 });

describe("nbval markers", () => {
  test("defaults: --nbval checks every cell, --nbval-lax none", () => {
    expect(cellOptions(cell("x"), false)).toEqual({ check: true, raises: false, skip: false });
    expect(cellOptions(cell("x"), true)).toEqual({ check: false, raises: false, skip: false });
  });

  test("tags", () => {
    expect(cellOptions(cell("x", ["nbval-ignore-output"]), false).check).toBe(false);
    expect(cellOptions(cell("x", ["nbval-check-output"]), true).check).toBe(true);
    expect(cellOptions(cell("x", ["raises-exception"]), false).raises).toBe(true);
    expect(cellOptions(cell("x", ["nbval-raises-exception"]), false).raises).toBe(true);
    expect(cellOptions(cell("x", ["nbval-skip"]), false).skip).toBe(true);
    expect(cellOptions(cell("x", ["pytest-validate-ignore-output"]), false).check).toBe(false);
    expect(cellOptions(cell("x", ["other", "NBVAL_SKIP"]), false).skip).toBe(false); // tags are lower-case-with-dashes only
  });

  test("// and # comment lines, exact text only", () => {
    expect(commentMarkers("// NBVAL_IGNORE_OUTPUT\nx")).toEqual({ check: false });
    expect(commentMarkers("  //NBVAL_SKIP  ")).toEqual({ skip: true });
    expect(commentMarkers("# NBVAL_RAISES_EXCEPTION")).toEqual({ raises: true });
    expect(commentMarkers("/// NBVAL_CHECK_OUTPUT")).toEqual({ check: true });
    expect(commentMarkers("// NBVAL_IGNORE_OUTPUT please\nlet a = 1; // NBVAL_SKIP")).toEqual({});
  });

  test("comments override tags; the last marker of a kind wins", () => {
    expect(cellOptions(cell("// NBVAL_CHECK_OUTPUT", ["nbval-ignore-output"]), false).check).toBe(true);
    expect(commentMarkers("// NBVAL_CHECK_OUTPUT\n// NBVAL_IGNORE_OUTPUT")).toEqual({ check: false });
    expect(tagMarkers(["nbval-ignore-output", "nbval-check-output"])).toEqual({ check: true });
  });

  test("malformed tags are ignored", () => {
    expect(tagMarkers("nbval-skip")).toEqual({});
    expect(tagMarkers([3, null])).toEqual({});
  });
});
