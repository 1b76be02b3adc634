import { describe, expect, test } from "vitest";
import { stripAnsi } from "../../tools/notebook-harness/ansi";

describe("stripAnsi", () => {
  test("removes colour and cursor sequences, keeps the text", () => {
    expect(stripAnsi("\x1b[0;31mRangeError\x1b[0m: boom")).toBe("RangeError: boom");
    expect(stripAnsi("\x1b[38;5;28;01mraise\x1b[39;00m x\x1b[2K")).toBe("raise x");
    expect(stripAnsi("no codes [0;31m here")).toBe("no codes [0;31m here");
  });
});
