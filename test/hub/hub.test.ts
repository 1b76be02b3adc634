import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../lib/cli/main";
import { cachePathFor, defaultCacheDir, isHubId, resolveModel, shardNames } from "../../lib/hub/hub";

/** A fake hub: serves `${id}/resolve/${rev}/${file}` from memory, with Range support and faults. */
interface Fault {
  /** Send only this many bytes of the body, then destroy the socket (the next `times` requests). */
  dropAfter?: number;
  times?: number;
  /** Answer 200 with the whole body even when asked for a range. */
  ignoreRange?: boolean;
  /** Honour Range even when If-Range names another version (a server that ignores If-Range). */
  ignoreIfRange?: boolean;
  /** Send no ETag / X-Linked-Etag (a plain static file server). */
  noEtag?: boolean;
  /** Send neither Content-Length nor chunked encoding: the body ends when the connection closes. */
  noLength?: boolean;
  /** Announce this sha256 instead of the real one (a corrupted mirror). */
  claimSha?: string;
}

const sha256 = (b: Buffer): string => crypto.createHash("sha256").update(b).digest("hex");

class FakeHub {
  constructor(
    readonly files = new Map<string, Buffer>(), // "owner/name/resolve/rev/file" -> bytes
    readonly faults = new Map<string, Fault>(), // file url path -> fault
  ) {}
  readonly requests: { url: string; range?: string; ifRange?: string; auth?: string; status: number }[] = [];
  /**
   * Answer /resolve/ with a 302 to `${redirect}/cdn/...` (another server: the CDN), carrying
   * X-Linked-Etag / X-Linked-Size, as the Hub does for LFS files. Empty: no redirect.
   */
  redirect = "";
  private server = http.createServer((req, res) => this.handle(req, res));
  endpoint = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
  put(id: string, file: string, data: Buffer | string, rev = "main"): void {
    this.files.set(`${id}/resolve/${rev}/${file}`, Buffer.from(data));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const raw = decodeURIComponent((req.url ?? "").slice(1));
    if (raw.startsWith("org/loop/")) {
      this.requests.push({ url: raw, status: 302 });
      res.writeHead(302, { location: `/${raw}` }).end();
      return;
    }
    const viaCdn = raw.startsWith("cdn/");
    const key = viaCdn ? raw.slice(4) : raw;
    const body = this.files.get(key);
    const range = req.headers.range;
    const ifRange = req.headers["if-range"] as string | undefined;
    const log = { url: raw, range, ifRange, auth: req.headers.authorization, status: 0 };
    this.requests.push(log);
    if (!body) {
      log.status = 404;
      res.writeHead(404).end("Entry not found");
      return;
    }
    const fault = this.faults.get(key);
    const etag = `"${fault?.claimSha ?? sha256(body)}"`;
    const version: Record<string, string | number> = fault?.noEtag ? {} : { etag };
    if (this.redirect && !viaCdn) {
      log.status = 302;
      const linked = fault?.noEtag ? {} : { "x-linked-etag": etag, "x-linked-size": body.length };
      res.writeHead(302, { location: `${this.redirect}/cdn/${key}`, ...linked }).end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(range ?? "");
    const sameVersion = ifRange === undefined || ifRange === etag || fault?.ignoreIfRange;
    if (m && !fault?.ignoreRange && sameVersion) start = Number(m[1]);
    if (start >= body.length && start > 0) {
      log.status = 416;
      res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      return;
    }
    const headers: Record<string, string | number> = fault?.noLength ? { ...version } : { "content-length": body.length - start, ...version };
    if (start > 0) headers["content-range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    log.status = start > 0 ? 206 : 200;
    if (fault?.noLength) {
      res.useChunkedEncodingByDefault = false;
      res.shouldKeepAlive = false;
    }
    res.writeHead(log.status, headers);
    if (fault?.dropAfter !== undefined && (fault.times ?? 1) > 0) {
      fault.times = (fault.times ?? 1) - 1;
      res.write(body.subarray(start, start + fault.dropAfter), () => {
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    if (fault?.noLength) {
      res.write(body.subarray(start), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body.subarray(start));
  }
}

const hub = new FakeHub();
const cdn = new FakeHub(hub.files, hub.faults); // another host serving the same files
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hub-"));
/** A valid safetensors file of `n` random data bytes (downloads are checked for structure). */
function randomSafetensors(n: number): Buffer {
  let json = JSON.stringify({ w: { dtype: "F32", shape: [n / 4], data_offsets: [0, n] } });
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), crypto.randomBytes(n)]);
}
const weights = randomSafetensors(300_000);
const shard1 = randomSafetensors(120_000);
const shard2 = randomSafetensors(90_000);
const config = JSON.stringify({ model_type: "gpt2", n_layer: 2 });
let cacheN = 0;
const freshCache = (): string => path.join(tmp, `cache${cacheN++}`);

beforeAll(async () => {
  await hub.start();
  await cdn.start();
  for (const id of ["org/single", "org/drop", "org/drop2", "org/norange", "org/token"]) {
    hub.put(id, "config.json", config);
    hub.put(id, "tokenizer.json", '{"model":{}}');
    hub.put(id, "model.safetensors", weights);
  }
  hub.put("org/single", "tokenizer_config.json", "{}");
  hub.put("org/sharded", "config.json", config);
  hub.put(
    "org/sharded",
    "model.safetensors.index.json",
    JSON.stringify({ metadata: {}, weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors", c: "model-00001-of-00002.safetensors" } }),
  );
  hub.put("org/sharded", "model-00001-of-00002.safetensors", shard1);
  hub.put("org/sharded", "model-00002-of-00002.safetensors", shard2);
  hub.put("org/nobin", "config.json", config);
  hub.put("org/single", "config.json", '{"rev":"v1"}', "v1");
  hub.put("org/single", "model.safetensors", shard2, "v1");
});
afterAll(async () => {
  await hub.stop();
  await cdn.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const read = (dir: string, f: string): Buffer => fs.readFileSync(path.join(dir, f));

describe("resolveModel", () => {
  it("downloads config, tokenizer files and weights into <cache>/<id>/<revision>, then serves the cache", async () => {
    const cache = freshCache();
    const seen: string[] = [];
    const dir = await resolveModel("org/single", {
      cacheDir: cache,
      endpoint: hub.endpoint,
      onProgress: (p) => p.done && seen.push(`${p.file}:${p.bytes}/${p.totalBytes}`),
    });
    expect(dir).toBe(path.join(cache, "org", "single", "main"));
    expect(read(dir, "config.json").toString()).toBe(config);
    expect(read(dir, "tokenizer_config.json").toString()).toBe("{}");
    expect(read(dir, "model.safetensors").equals(weights)).toBe(true);
    expect(seen).toEqual([
      `config.json:${config.length}/${config.length}`,
      "tokenizer.json:12/12",
      "tokenizer_config.json:2/2",
      `model.safetensors:${weights.length}/${weights.length}`,
    ]);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".part"))).toEqual([]);
    const before = hub.requests.length;
    expect(await resolveModel("org/single", { cacheDir: cache, endpoint: "http://127.0.0.1:1" })).toBe(dir);
    expect(hub.requests.length).toBe(before); // the cache answered, no network
  });

  it("treats a 404 for the optional tokenizer files as fine", async () => {
    const dir = await resolveModel("org/drop2", { cacheDir: freshCache(), endpoint: hub.endpoint });
    expect(fs.existsSync(path.join(dir, "tokenizer_config.json"))).toBe(false);
    expect(read(dir, "model.safetensors").equals(weights)).toBe(true);
  });

  it("fetches another revision into its own folder", async () => {
    const cache = freshCache();
    const dir = await resolveModel("org/single", { cacheDir: cache, endpoint: hub.endpoint, revision: "v1" });
    expect(dir).toBe(path.join(cache, "org", "single", "v1"));
    expect(read(dir, "model.safetensors").equals(shard2)).toBe(true);
  });

  it("downloads a sharded checkpoint: the index and each shard once", async () => {
    const dir = await resolveModel("org/sharded", { cacheDir: freshCache(), endpoint: hub.endpoint });
    expect(read(dir, "model-00001-of-00002.safetensors").equals(shard1)).toBe(true);
    expect(read(dir, "model-00002-of-00002.safetensors").equals(shard2)).toBe(true);
    const shardRequests = hub.requests.filter((r) => r.url.startsWith("org/sharded") && r.url.endsWith("-of-00002.safetensors"));
    expect(shardRequests.length).toBe(2);
  });

  it("resumes with a Range request after the connection drops half-way", async () => {
    hub.faults.set("org/drop/resolve/main/model.safetensors", { dropAfter: 150_000, times: 1 });
    const dir = await resolveModel("org/drop", { cacheDir: freshCache(), endpoint: hub.endpoint });
    expect(read(dir, "model.safetensors").equals(weights)).toBe(true);
    const reqs = hub.requests.filter((r) => r.url === "org/drop/resolve/main/model.safetensors");
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(reqs[1].range).toBe(`bytes=${150_000}-`);
  });

  it("keeps the .part file when retries run out, and the next run resumes from it", async () => {
    const cache = freshCache();
    const url = "org/drop/resolve/main/model.safetensors";
    hub.faults.set(url, { dropAfter: 100_000, times: 1 });
    const dir = cachePathFor("org/drop", "main", cache);
    await expect(resolveModel("org/drop", { cacheDir: cache, endpoint: hub.endpoint, retries: 0 })).rejects.toThrow(
      /download of org\/drop\/model\.safetensors failed: .*; 100000 bytes kept in .*model\.safetensors\.part, run again to resume/,
    );
    expect(fs.existsSync(path.join(dir, "model.safetensors"))).toBe(false);
    expect(read(dir, "model.safetensors.part").equals(weights.subarray(0, 100_000))).toBe(true);
    const before = hub.requests.length;
    await resolveModel("org/drop", { cacheDir: cache, endpoint: hub.endpoint, retries: 0 });
    expect(read(dir, "model.safetensors").equals(weights)).toBe(true);
    const resumed = hub.requests.slice(before).filter((r) => r.url === url);
    expect(resumed.map((r) => [r.status, r.range])).toEqual([[206, "bytes=100000-"]]);
  });

  it("restarts cleanly when the server ignores Range", async () => {
    const url = "org/norange/resolve/main/model.safetensors";
    hub.faults.set(url, { dropAfter: 120_000, times: 1, ignoreRange: true });
    const dir = await resolveModel("org/norange", { cacheDir: freshCache(), endpoint: hub.endpoint });
    expect(read(dir, "model.safetensors").equals(weights)).toBe(true); // not 120000 bytes twice
    const reqs = hub.requests.filter((r) => r.url === url);
    expect(reqs.map((r) => [r.status, r.range])).toEqual([[200, undefined], [200, "bytes=120000-"]]);
  });

  it("sends HF_TOKEN as a bearer token", async () => {
    await resolveModel("org/token", { cacheDir: freshCache(), endpoint: hub.endpoint, token: "hf_secret" });
    const reqs = hub.requests.filter((r) => r.url.startsWith("org/token/"));
    expect(reqs.length).toBeGreaterThan(0);
    expect(reqs.every((r) => r.auth === "Bearer hf_secret")).toBe(true);
  });

  it("says which file a model lacks", async () => {
    await expect(resolveModel("org/absent", { cacheDir: freshCache(), endpoint: hub.endpoint })).rejects.toThrow(
      "org/absent has no config.json at revision main",
    );
    await expect(resolveModel("org/nobin", { cacheDir: freshCache(), endpoint: hub.endpoint })).rejects.toThrow(
      "model: org/nobin has no model.safetensors or model.safetensors.index.json at revision main (only safetensors checkpoints are supported)",
    );
  });

  it("gives one clear line when the server cannot be reached", async () => {
    // A port that was just open and is now closed: connection refused.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const endpoint = `http://127.0.0.1:${port}`;
    await expect(resolveModel("facebook/opt-125m", { cacheDir: freshCache(), endpoint })).rejects.toThrow(
      `cannot reach ${endpoint} to download facebook/opt-125m (offline?); pass a local folder or set HF_ENDPOINT`,
    );
  });

  it("in offline mode uses only the cache", async () => {
    await expect(resolveModel("org/single", { cacheDir: freshCache(), endpoint: hub.endpoint, offline: true })).rejects.toThrow(
      /org\/single \(revision main\) is not in the cache .* and offline mode is on/,
    );
  });

  it("returns a local folder as it is and rejects paths that do not exist", async () => {
    expect(await resolveModel(tmp)).toBe(path.resolve(tmp));
    await expect(resolveModel(path.join(tmp, "nope", "x"))).rejects.toThrow(/folder .*nope\/x does not exist/);
    const file = path.join(tmp, "afile");
    fs.writeFileSync(file, "x");
    await expect(resolveModel(file)).rejects.toThrow(/is a file; pass the folder holding config\.json/);
  });
});

describe("verified downloads", () => {
  /** A fresh model id on the fake hub holding config.json and `weights`. */
  let idN = 0;
  function model(data: Buffer = weights): { id: string; url: string } {
    const id = `org/v${idN++}`;
    hub.put(id, "config.json", config);
    hub.put(id, "model.safetensors", data);
    return { id, url: `${id}/resolve/main/model.safetensors` };
  }

  it.each([
    ["a server that honours If-Range", {}],
    ["a server that ignores If-Range but changes its ETag", { ignoreIfRange: true }],
  ])("a file changed upstream between interruption and resume is fetched whole, never spliced (%s)", async (_name, fault) => {
    const cache = freshCache();
    const { id, url } = model();
    hub.faults.set(url, { dropAfter: 100_000, times: 1, ...fault });
    await expect(resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 0 })).rejects.toThrow(/100000 bytes kept/);
    const newer = randomSafetensors(300_000); // same length and header, other data
    hub.put(id, "model.safetensors", newer);
    const before = hub.requests.length;
    const dir = await resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 0 });
    expect(read(dir, "model.safetensors").equals(newer)).toBe(true);
    const reqs = hub.requests.slice(before).filter((r) => r.url === url);
    expect(reqs[0].ifRange).toBe(`"${sha256(weights)}"`); // the resume named the version it continues
    expect(reqs[reqs.length - 1].status).toBe(200);
  });

  it("a resume the server confirms (same ETag) continues with a Range request", async () => {
    const cache = freshCache();
    const { id, url } = model();
    hub.faults.set(url, { dropAfter: 100_000, times: 1 });
    await expect(resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 0 })).rejects.toThrow(/100000 bytes kept/);
    const before = hub.requests.length;
    const dir = await resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 0 });
    expect(read(dir, "model.safetensors").equals(weights)).toBe(true);
    expect(hub.requests.slice(before).filter((r) => r.url === url).map((r) => [r.status, r.range, r.ifRange])).toEqual([
      [206, "bytes=100000-", `"${sha256(weights)}"`],
    ]);
  });

  it("without an ETag a partial file cannot be matched to a version: it starts over", async () => {
    const cache = freshCache();
    const { id, url } = model();
    hub.faults.set(url, { dropAfter: 100_000, times: 1, noEtag: true });
    await expect(resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 0 })).rejects.toThrow(/failed/);
    const before = hub.requests.length;
    const dir = await resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 0 });
    expect(read(dir, "model.safetensors").equals(weights)).toBe(true);
    expect(hub.requests.slice(before).filter((r) => r.url === url).map((r) => [r.status, r.range])).toEqual([[200, undefined]]);
  });

  it("follows the Hub's redirect to its CDN, checks the sha256 it announces, and keeps the token on the hub", async () => {
    hub.redirect = cdn.endpoint;
    try {
      const { id } = model();
      const dir = await resolveModel(id, { cacheDir: freshCache(), endpoint: hub.endpoint, token: "hf_x" });
      expect(read(dir, "model.safetensors").equals(weights)).toBe(true);
      const atHub = hub.requests.filter((r) => r.url.startsWith(`${id}/`));
      const atCdn = cdn.requests.filter((r) => r.url.startsWith(`cdn/${id}/`));
      expect([atHub.length, atCdn.length]).toEqual([4, 2]); // 2 tokenizer files answer 404 at the hub
      expect(atHub.every((r) => r.auth === "Bearer hf_x") && atCdn.every((r) => r.auth === undefined)).toBe(true);
      const marker = JSON.parse(read(dir, ".complete").toString());
      expect(marker.files["model.safetensors"]).toEqual({ size: weights.length, sha256: sha256(weights) });

      const bad = model();
      hub.faults.set(bad.url, { claimSha: "0".repeat(64) });
      const cache = freshCache();
      await expect(resolveModel(bad.id, { cacheDir: cache, endpoint: hub.endpoint, retries: 1 })).rejects.toThrow(
        `download of ${bad.id}/model.safetensors failed: its sha256 is ${sha256(weights)}, the server announced ${"0".repeat(64)}`,
      );
      const folder = cachePathFor(bad.id, "main", cache);
      expect(fs.existsSync(path.join(folder, "model.safetensors"))).toBe(false);
      expect(fs.existsSync(path.join(folder, ".complete"))).toBe(false);
    } finally {
      hub.redirect = "";
    }
  });

  it("a body cut short without Content-Length is not recorded as complete", async () => {
    const data = fs.readFileSync(path.join(__dirname, "..", "io", "fixtures", "mixed.safetensors"));
    const cache = freshCache();
    const { id, url } = model(data);
    hub.faults.set(url, { dropAfter: 100, times: 1, noLength: true, noEtag: true });
    const folder = cachePathFor(id, "main", cache);
    await expect(resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 0 })).rejects.toThrow(
      new RegExp(`download of ${id}/model\\.safetensors failed: .*truncated safetensors file`),
    );
    expect(fs.existsSync(path.join(folder, ".complete"))).toBe(false);
    expect(fs.existsSync(path.join(folder, "model.safetensors"))).toBe(false);
    // With a retry the whole file arrives (still without Content-Length) and passes the checks.
    hub.faults.set(url, { dropAfter: 100, times: 1, noLength: true, noEtag: true });
    const dir = await resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, retries: 1 });
    expect(read(dir, "model.safetensors").equals(data)).toBe(true);
  });

  it("a damaged cached file is fetched again, or named with the command that clears it when offline", async () => {
    const cache = freshCache();
    const { id } = model();
    const dir = await resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint });
    fs.truncateSync(path.join(dir, "model.safetensors"), 1000); // a disk or copy went wrong later
    await expect(resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint, offline: true })).rejects.toThrow(
      `${path.join(dir, "model.safetensors")}: the cached download is damaged (1000 bytes, expected ${weights.length}); delete ${dir} (rm -r) or run 'linearity download ${id}' with a network`,
    );
    const again = await resolveModel(id, { cacheDir: cache, endpoint: hub.endpoint });
    expect(read(again, "model.safetensors").equals(weights)).toBe(true);
  });

  it("names the URL and the real cause: a redirect loop, a port fetch refuses", async () => {
    hub.put("org/loop", "config.json", config);
    await expect(resolveModel("org/loop", { cacheDir: freshCache(), endpoint: hub.endpoint, retries: 0 })).rejects.toThrow(
      `download of org/loop/config.json failed: ${hub.endpoint}/org/loop/resolve/main/config.json: too many redirects (a redirect loop?)`,
    );
    await expect(resolveModel("org/x", { cacheDir: freshCache(), endpoint: "http://127.0.0.1:6000", retries: 0 })).rejects.toThrow(
      "download of org/x/config.json failed: http://127.0.0.1:6000/org/x/resolve/main/config.json: bad port",
    );
  });
});

describe("hub helpers", () => {
  it("recognizes hub ids", () => {
    expect(isHubId("facebook/opt-125m")).toBe(true);
    expect(isHubId("gpt2")).toBe(true);
    expect(isHubId("./models/x")).toBe(false);
    expect(isHubId("a/b/c")).toBe(false);
    expect(isHubId("a/..")).toBe(false);
  });

  it("picks the cache root from LINEARITY_CACHE, then HF_HOME, then the home folder", () => {
    expect(defaultCacheDir({ LINEARITY_CACHE: "/c", HF_HOME: "/h" })).toBe("/c");
    expect(defaultCacheDir({ HF_HOME: "/h" })).toBe(path.join("/h", "linearity-lab", "hub"));
    expect(defaultCacheDir({})).toBe(path.join(os.homedir(), ".cache", "linearity-lab", "hub"));
  });

  it("refuses shard names that would leave the model folder", () => {
    const f = path.join(tmp, "index.json");
    fs.writeFileSync(f, JSON.stringify({ weight_map: { a: "../evil.safetensors" } }));
    expect(() => shardNames(f, "x/y")).toThrow(/names an unexpected shard file "\.\.\/evil\.safetensors"/);
    fs.writeFileSync(f, JSON.stringify({ metadata: {} }));
    expect(() => shardNames(f, "x/y")).toThrow(/has no weight_map/);
  });
});

describe("linearity download", () => {
  it("prints the local folder", async () => {
    const cache = freshCache();
    const printed: string[] = [];
    const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (printed.push(String(chunk)), true));
    const prev = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = hub.endpoint;
    try {
      await (await buildProgram()).parseAsync(["node", "linearity", "download", "org/single", "--cache", cache, "--revision", "v1"]);
    } finally {
      process.env.HF_ENDPOINT = prev;
      out.mockRestore();
    }
    expect(printed).toContain(path.join(cache, "org", "single", "v1") + "\n");
  });
});
