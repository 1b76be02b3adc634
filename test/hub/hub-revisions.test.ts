/**
 * Hub revisions other than main: Pythia's training-step branches and names with a slash, each
 * into its own cache folder, from a fake hub on 127.0.0.1 that records the raw request paths.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveModel } from "../../lib/hub/hub";

const REVISIONS = ["step1000", "step2000", "refs/pr/7"];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hub-revisions-"));
const rawPaths: string[] = [];
/** "<revision>/<file>" -> body; any other path is a 404, like the Hub. */
const files = new Map<string, Buffer>();
const server = http.createServer((req, res) => {
  rawPaths.push(req.url ?? "");
  const m = /^\/org\/pythia\/resolve\/([^/]+)\/([\w.-]+)$/.exec(req.url ?? "");
  const body = m ? files.get(`${decodeURIComponent(m[1])}/${m[2]}`) : undefined;
  if (!body) return void res.writeHead(404).end("Entry not found");
  res.writeHead(200, { "content-length": body.length }).end(body);
});
let endpoint = "";

/** A valid one-tensor safetensors file naming its revision (downloads are layout-checked). */
function safetensorsFor(rev: string): Buffer {
  const header = Buffer.from(JSON.stringify({ __metadata__: { rev }, w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, Buffer.alloc(4)]);
}

beforeAll(async () => {
  for (const rev of REVISIONS) {
    files.set(`${rev}/config.json`, Buffer.from(JSON.stringify({ rev })));
    files.set(`${rev}/model.safetensors`, safetensorsFor(rev));
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("resolveModel with a revision", () => {
  it("fetches any revision name (step1000, step2000, refs/pr/7), each into its own folder", async () => {
    const cache = path.join(tmp, "cache");
    const dirs = new Set<string>();
    for (const rev of REVISIONS) {
      const dir = await resolveModel("org/pythia", { cacheDir: cache, endpoint, revision: rev });
      expect(JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))).toEqual({ rev });
      expect(fs.readFileSync(path.join(dir, "model.safetensors")).equals(safetensorsFor(rev))).toBe(true);
      dirs.add(dir);
    }
    expect(dirs.size).toBe(3);
    expect([...dirs].every((d) => path.dirname(d) === path.join(cache, "org", "pythia"))).toBe(true);
    // The slash of refs/pr/7 travels URL-encoded, as one path segment.
    expect(rawPaths).toContain("/org/pythia/resolve/step1000/config.json");
    expect(rawPaths).toContain("/org/pythia/resolve/refs%2Fpr%2F7/config.json");
  });

  it("refuses '', '.' and '..', which would name no folder of their own", async () => {
    for (const bad of ["", ".", ".."]) {
      await expect(resolveModel("org/pythia", { cacheDir: path.join(tmp, "cache2"), endpoint, revision: bad })).rejects.toThrow(
        `model: --revision '${bad}' is not a branch, tag or commit name`,
      );
    }
    expect(fs.existsSync(path.join(tmp, "org"))).toBe(false);
  });
});
