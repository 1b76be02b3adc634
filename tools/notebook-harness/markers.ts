/**
 * nbval's per-cell markers, read from cell tags and from comment lines.
 *
 * | marker (comment)         | tag                                        | effect                          |
 * |--------------------------|--------------------------------------------|---------------------------------|
 * | NBVAL_IGNORE_OUTPUT      | nbval-ignore-output                        | run, do not compare outputs     |
 * | NBVAL_CHECK_OUTPUT       | nbval-check-output                         | compare outputs even in lax mode|
 * | NBVAL_RAISES_EXCEPTION   | nbval-raises-exception, raises-exception   | the cell must raise             |
 * | NBVAL_SKIP               | nbval-skip                                 | do not run the cell             |
 * | PYTEST_VALIDATE_IGNORE_OUTPUT | pytest-validate-ignore-output         | old name of IGNORE_OUTPUT       |
 *
 * nbval recognises only `#` comments; TypeScript cells use `//`, so both are read here (a
 * comment line whose text, after the leading `//` or `#` characters and spaces, equals the
 * marker). Comments override tags; within one kind, the last marker wins (as in nbval).
 * Committed notebooks should use tags: `pytest --nbval` does not see `//` comments.
 */
import type { Cell } from "./nbformat";

export interface CellOptions {
  /** Compare outputs with the stored ones. */
  check: boolean;
  /** The cell is expected to raise (execute_reply status "error"). */
  raises: boolean;
  /** Do not execute the cell. */
  skip: boolean;
}

type Marker = ["check", boolean] | ["raises", true] | ["skip", true];

const COMMENT_MARKERS: Record<string, Marker> = {
  PYTEST_VALIDATE_IGNORE_OUTPUT: ["check", false],
  NBVAL_IGNORE_OUTPUT: ["check", false],
  NBVAL_CHECK_OUTPUT: ["check", true],
  NBVAL_RAISES_EXCEPTION: ["raises", true],
  NBVAL_SKIP: ["skip", true],
};

const TAG_MARKERS: Record<string, Marker> = {
  ...Object.fromEntries(Object.entries(COMMENT_MARKERS).map(([k, v]) => [k.toLowerCase().replace(/_/g, "-"), v])),
  "raises-exception": ["raises", true],
};

/** Markers found in comment lines of `source` (`//` or `#` comments). */
export function commentMarkers(source: string): Partial<CellOptions> {
  const found: Partial<CellOptions> = {};
  for (const raw of source.split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    if (!line.startsWith("//") && !line.startsWith("#")) continue;
    const text = line.replace(/^[/#]+/, "").trim();
    const marker = COMMENT_MARKERS[text];
    if (marker) (found as Record<string, boolean>)[marker[0]] = marker[1];
  }
  return found;
}

/** Markers found in the cell's `metadata.tags`. */
export function tagMarkers(tags: unknown): Partial<CellOptions> {
  const found: Partial<CellOptions> = {};
  if (!Array.isArray(tags)) return found;
  for (const tag of tags) {
    const marker = typeof tag === "string" ? TAG_MARKERS[tag] : undefined;
    if (marker) (found as Record<string, boolean>)[marker[0]] = marker[1];
  }
  return found;
}

/**
 * The options nbval would use for `cell`: tags, overridden by comments, defaulting to
 * `check = !lax` (`--nbval` checks every cell, `--nbval-lax` only those marked CHECK).
 */
export function cellOptions(cell: Cell, lax: boolean): CellOptions {
  const merged = { ...tagMarkers(cell.metadata.tags), ...commentMarkers(cell.source) };
  return { check: merged.check ?? !lax, raises: merged.raises ?? false, skip: merged.skip ?? false };
}
