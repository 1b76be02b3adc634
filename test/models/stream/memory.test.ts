/** --memory sizes, byte formatting, and the sequences a streamed forward takes under a budget. */
import { describe, expect, it } from "vitest";
import { formatBytes, parseMemorySize, peakResidentBytes } from "../../../lib/models/stream/memory";
import { forwardBytesPerToken, MAX_GROUP_TOKENS, sequencesPerForward, type MemoryPlan } from "../../../lib/models/stream/plan";
import { normalizeHfConfig } from "../../../lib/models/config";
import * as fs from "node:fs";

describe("parseMemorySize", () => {
  it("reads binary units and plain bytes", () => {
    expect(parseMemorySize("4G")).toBe(4 * 2 ** 30);
    expect(parseMemorySize("4GiB")).toBe(4 * 2 ** 30);
    expect(parseMemorySize("512m")).toBe(512 * 2 ** 20);
    expect(parseMemorySize("1.5G")).toBe(1.5 * 2 ** 30);
    expect(parseMemorySize("1048576")).toBe(2 ** 20);
    expect(parseMemorySize(12345)).toBe(12345);
  });
  it("refuses anything else in one line naming the flag", () => {
    for (const bad of ["", "G", "4X", "-1G", "0", "four"]) expect(() => parseMemorySize(bad)).toThrow(/^--memory: expected /);
  });
});

describe("formatBytes", () => {
  it("uses binary units with 3 significant digits", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(810 * 2 ** 20)).toBe("810 MiB");
    expect(formatBytes(3.4 * 2 ** 30)).toBe("3.40 GiB");
  });
});

describe.skipIf(!fs.existsSync("/proc/self/status"))("peakResidentBytes", () => {
  it("reads VmHWM, at least the current resident size", () => {
    const rss = process.memoryUsage().rss;
    expect(peakResidentBytes()!).toBeGreaterThanOrEqual(rss * 0.9);
  });
});

describe("sequencesPerForward", () => {
  const cfg = normalizeHfConfig({ model_type: "llama", num_hidden_layers: 4, hidden_size: 64, num_attention_heads: 4, intermediate_size: 128, vocab_size: 300 });
  const plan = (mode: "whole" | "streamed", budget: number, weightPeak: number): MemoryPlan =>
    ({ budget, mode, weightBytes: 0, largestBlock: { block: 0, bytes: 0 }, weightPeak, heapLimit: Infinity, onUse: false });
  const perSeq = 16 * forwardBytesPerToken(cfg, 16, 5);
  it("whole runs keep the requested batch", () => expect(sequencesPerForward(plan("whole", 1, 1), cfg, 16, 8, 5)).toBe(8));
  it("streamed runs fill the budget beyond the weights, at least the request when it fits, at most MAX_GROUP_TOKENS", () => {
    expect(sequencesPerForward(plan("streamed", 1000 + 20 * perSeq, 1000), cfg, 16, 8, 5)).toBe(20);
    expect(sequencesPerForward(plan("streamed", 1000 + 5 * perSeq, 1000), cfg, 16, 8, 5)).toBe(5);
    expect(sequencesPerForward(plan("streamed", 1000 + perSeq, 1000), cfg, 16, 8, 5)).toBe(1);
    expect(() => sequencesPerForward(plan("streamed", 1000 + perSeq - 1, 1000), cfg, 16, 8, 5)).toThrow(
      /^one sequence of 16 tokens needs about [\d.]+ KiB for its states, more than the memory budget of [\d.]+ KiB leaves beside the weights .*; use a smaller --seq-len or a larger --memory$/,
    );
    expect(sequencesPerForward(plan("streamed", 2 ** 50, 1000), cfg, 16, 8, 5)).toBe(MAX_GROUP_TOKENS / 16);
  });
});
