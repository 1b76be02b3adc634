/** loadModel against hostile folders: an index that points outside, a config that lies about its size. */
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { loadModel } from "../../lib/models/load";
import { tinyCheckpoints } from "./helpers";

let ck: ReturnType<typeof tinyCheckpoints>;
beforeAll(async () => {
  await initBackend({ quiet: true });
  ck = tinyCheckpoints();
});
afterAll(() => ck.cleanup());

/** A copy of the sharded llama checkpoint whose index maps one tensor to `shard`. */
function withShard(name: string, shard: string): string {
  const dir = path.join(ck.root, "nest", name);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(ck.dirs["llama-gqa-sharded"], dir, { recursive: true });
  const indexPath = path.join(dir, "model.safetensors.index.json");
  const index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
  const first = Object.keys(index.weight_map)[0];
  // Move that tensor's shard outside the folder, where a followed path would find it.
  const original = index.weight_map[first];
  index.weight_map = Object.fromEntries(Object.entries(index.weight_map).map(([k, v]) => [k, v === original ? shard : v]));
  fs.copyFileSync(path.join(dir, original), path.resolve(dir, shard.startsWith("/") ? path.join(ck.root, "abs.safetensors") : shard));
  fs.writeFileSync(indexPath, JSON.stringify(index));
  return dir;
}

describe("loadModel refuses what would leave the model folder or cost more than the weights justify", () => {
  it("an index whose weight_map names a file outside the folder", () => {
    const up = withShard("up", "../outside.safetensors");
    expect(() => loadModel(up)).toThrow(
      `${path.join(up, "model.safetensors.index.json")}: weight_map names "../outside.safetensors", which is outside the model folder`,
    );
    const abs = withShard("abs", path.join(ck.root, "abs.safetensors"));
    expect(() => loadModel(abs)).toThrow(/model\.safetensors\.index\.json: weight_map names ".*abs\.safetensors", which is outside the model folder/);
    const etc = withShard("etc", "/etc/passwd");
    expect(() => loadModel(etc)).toThrow(/weight_map names "\/etc\/passwd", which is outside the model folder/);
  });

  it("a config.json claiming 5e7 blocks fails at once, before any weight spec is built", () => {
    for (const [family, key] of [["llama-gqa", "num_hidden_layers"], ["gpt2", "n_layer"], ["opt", "num_hidden_layers"]] as const) {
      const dir = path.join(ck.root, `huge-${family}`);
      fs.cpSync(ck.dirs[family], dir, { recursive: true });
      const cfgPath = path.join(dir, "config.json");
      const cfg = JSON.parse(fs.readFileSync(cfgPath, "utf8"));
      const real = cfg[key];
      cfg[key] = 50_000_000;
      fs.writeFileSync(cfgPath, JSON.stringify(cfg));
      expect(() => loadModel(dir)).toThrow(
        `${cfgPath}: says n_layers = 50000000 but the weights hold ${real} blocks (0..${real - 1}); config.json and the weights do not belong together`,
      );
    }
  });
});
