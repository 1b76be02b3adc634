import * as fs from "fs";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { defaultSamplesDir, openSamples } from "../../lib/dataset/samples";

const root = path.resolve(__dirname, "../..");

describe("openSamples: the notebooks' shared set-up", () => {
  test("opens data-samples/hidden-states and loads every state as [tokens, d_model]", async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, "data-samples", "hidden-states", "manifest.json"), "utf8"));
    const { ds, states, summary, backend } = await openSamples({ dir: defaultSamplesDir() });
    expect(ds.nStates).toBe(manifest.n_states);
    expect(states).toHaveLength(manifest.n_states);
    for (const s of states) expect(s.shape).toEqual([manifest.n_tokens, manifest.d_model]);
    expect(summary).toBe(
      `TensorFlow.js backend '${backend}'\n${manifest.model.name} (${manifest.model.family}): ${manifest.n_layers} blocks -> ${manifest.n_states} states x d_model ${manifest.d_model}, ${manifest.n_tokens} tokens in ${manifest.n_samples} sequences`,
    );
    states.forEach((s) => s.dispose());
  }, 60_000);

  test("finds the samples from lib/ and from dist/lib/ alike; a folder without them is an error", () => {
    expect(defaultSamplesDir(path.join(root, "lib", "dataset"))).toBe(path.join(root, "data-samples", "hidden-states"));
    expect(defaultSamplesDir(path.join(root, "dist", "lib", "dataset"))).toBe(path.join(root, "data-samples", "hidden-states"));
    expect(() => defaultSamplesDir("/")).toThrow(/^linearity: data-samples\/hidden-states: not found above \/ \(set LINEARITY_DATA/);
  });
});
