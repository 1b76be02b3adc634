import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { SampleInput } from "../../lib/dataset/types";

export function tempDir(prefix = "linearity-ds-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every file under `dir` (relative path -> its bytes in base64; the manifest as text with its timestamps blanked), to compare two datasets. */
export function datasetFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), e.name === "manifest.json" ? fs.readFileSync(p, "utf8").replace(/"(created|updated)": "[^"]*"/g, "") : fs.readFileSync(p).toString("base64"));
    }
  };
  walk(dir);
  return out;
}

/** The value stored for state b, global token t, column j: a formula the tests recompute independently. */
export function value(b: number, t: number, j: number): number {
  return Math.fround(Math.sin(b * 7.1 + t * 0.37 + j * 1.3) * (b + 1));
}

/** Token id of global token t. */
export function tokenId(t: number): number {
  return (t * 37) % 1000;
}

/** Tag of global token t. */
export function tag(t: number): string {
  return ["NN", "VB", "JJ", "space"][t % 4];
}

/**
 * Samples with the given token counts starting at global token `first`, and their states
 * ([tokens, d_model] per state) built from {@link value}.
 */
export function makeBatch(
  lengths: number[],
  first: number,
  nStates: number,
  dModel: number,
  opts: { tags?: boolean } = {},
): { samples: SampleInput[]; states: Float32Array[] } {
  const samples: SampleInput[] = [];
  let t = first;
  for (const len of lengths) {
    const ids = Int32Array.from({ length: len }, (_, k) => tokenId(t + k));
    samples.push({
      tokenIds: ids,
      text: `sample starting at ${t}`,
      source: `doc-${t}`,
      ...(opts.tags ? { tags: Array.from({ length: len }, (_, k) => tag(t + k)) } : {}),
    });
    t += len;
  }
  const tokens = t - first;
  const states = Array.from({ length: nStates }, (_, b) => {
    const buf = new Float32Array(tokens * dModel);
    for (let r = 0; r < tokens; r++) for (let j = 0; j < dModel; j++) buf[r * dModel + j] = value(b, first + r, j);
    return buf;
  });
  return { samples, states };
}

/** Expected rows start..end of state b, straight from the formula. */
export function expectedRows(b: number, start: number, end: number, dModel: number, round = (x: number) => x): number[] {
  const out: number[] = [];
  for (let t = start; t < end; t++) for (let j = 0; j < dModel; j++) out.push(round(value(b, t, j)));
  return out;
}

export const MODEL = { name: "tiny-test", family: "llama", n_layers: 3, d_model: 5, d_vocab: 1000 };
