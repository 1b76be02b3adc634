/**
 * Child process for the crash test: appends shards to a dataset until killed, printing
 * "committed N" after each append returns. Not a test file itself.
 */
import { HiddenStateWriter } from "../../lib/dataset/writer";
import { MODEL, makeBatch } from "./helpers";

const dir = process.argv[2];
const w = HiddenStateWriter.open(dir, { model: MODEL, dtype: "float32" });
let t = w.committedTokens;
for (let shard = 0; ; shard++) {
  const lengths = [3 + (shard % 4), 2];
  const { samples, states } = makeBatch(lengths, t, MODEL.n_layers + 1, MODEL.d_model);
  w.append(samples, states);
  t += lengths[0] + lengths[1];
  process.stdout.write(`committed ${w.committedSamples}\n`);
}
