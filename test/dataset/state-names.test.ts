/** Datasets of named states (sublayer points): manifest state_names, writer and reader. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { HiddenStateWriter } from "../../lib/dataset/writer";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "state-names-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const MODEL = { name: "m", family: "llama", n_layers: 2, d_model: 3 };
const NAMES = ["embed", "blocks.0.resid_mid", "blocks.0.resid_post", "blocks.1.resid_mid", "blocks.1.resid_post"];

describe("state_names", () => {
  it("stores one state per name, reads them back, and refuses to resume with other names", () => {
    const dir = path.join(tmp, "a");
    const w = HiddenStateWriter.open(dir, { model: MODEL, dtype: "float32", stateNames: NAMES });
    expect(w.nStates).toBe(5);
    const states = NAMES.map((_, s) => Float32Array.from({ length: 2 * 3 }, (_, i) => 10 * s + i));
    expect(() => w.append([{ tokenIds: Int32Array.from([1, 2]) }], states.slice(0, 3))).toThrow(
      "append: expected 5 states (one per state name), got 3",
    );
    w.append([{ tokenIds: Int32Array.from([1, 2]) }], states);
    expect(() => HiddenStateWriter.open(dir, { model: MODEL, dtype: "float32" })).toThrow(
      /cannot resume, the existing dataset differs \(states embed,blocks\.0\.resid_mid,.* vs the hidden states\)/,
    );
    w.finish();
    const ds = HiddenStateDataset.open(dir);
    expect(ds.stateNames).toEqual(NAMES);
    expect(ds.nStates).toBe(5);
    expect(ds.nLayers).toBe(2);
    expect(Array.from(ds.rows(3, 0, 2))).toEqual(Array.from(states[3]));
  });

  it("the manifest check refuses state_names that do not match n_states", () => {
    const dir = path.join(tmp, "b");
    const w = HiddenStateWriter.open(dir, { model: MODEL, dtype: "float32", stateNames: NAMES });
    w.finish();
    const file = path.join(dir, "manifest.json");
    const m = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...m, n_states: 3 }));
    expect(() => HiddenStateDataset.open(dir)).toThrow(/manifest\.json: 'n_states' must be the number of state_names = 5, got 3/);
    fs.writeFileSync(file, JSON.stringify({ ...m, state_names: ["embed", "embed", "x", "y", "z"] }));
    expect(() => HiddenStateDataset.open(dir)).toThrow(/manifest\.json: 'state_names' has a repeated name/);
    expect(() => HiddenStateWriter.open(path.join(tmp, "c"), { model: MODEL, dtype: "float32", stateNames: ["only"] })).toThrow(
      "HiddenStateWriter.open: stateNames must be at least 2 distinct non-empty names",
    );
  });
});
