/** storedTensor: every dtype a checkpoint stores reads to exactly the values of SafetensorsTensor.read(). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../lib/backend";
import { readSafetensors, writeSafetensors } from "../../../lib/io/safetensors";
import { storedTensor } from "../../../lib/models/common/stored-tensor";

let dir: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stored-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("storedTensor", () => {
  it("BF16, F16 and F32 tensors (odd sizes, specials) read exactly as read() does, as new tensors", () => {
    const values = Float32Array.from({ length: 3 * 37 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    values[5] = -0;
    values[7] = 70000; // beyond float16: Infinity there
    const file = path.join(dir, "w.safetensors");
    writeSafetensors(file, {
      a: { dtype: "BF16", shape: [3, 37], data: values },
      b: { dtype: "F16", shape: [3, 37], data: values },
      c: { dtype: "F32", shape: [111], data: values },
      d: { dtype: "BF16", shape: [1], data: values.subarray(0, 1) },
      // Long enough for the native widening's vector loop over memory it also writes (in place).
      e: { dtype: "BF16", shape: [4099], data: Float32Array.from({ length: 4099 }, (_, i) => Math.cos(i) * 2 ** ((i % 40) - 20)) },
      f: { dtype: "F16", shape: [4099], data: Float32Array.from({ length: 4099 }, (_, i) => Math.cos(i) * 2 ** ((i % 20) - 10)) },
    });
    const st = readSafetensors(file);
    for (const name of st.names) {
      const before = tf.memory().numTensors;
      const t = storedTensor(st.tensors[name]);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(t.shape).toEqual(st.tensors[name].shape);
      expect(t.dtype).toBe("float32");
      const want = st.tensors[name].read();
      const got = t.dataSync();
      for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i])).toBe(true);
      t.dispose();
    }
    // Not vacuous: BF16 rounds, F16 overflows where F32 keeps the value.
    tf.tidy(() => {
      expect(storedTensor(st.tensors.a).dataSync()[1]).not.toBe(values[1]);
    });
    tf.tidy(() => {
      expect(storedTensor(st.tensors.b).dataSync()[7]).toBe(Infinity);
    });
  });
});
