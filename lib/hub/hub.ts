/**
 * Model folders from the Hugging Face hub (or any server with the same URL layout).
 *
 * `resolveModel("facebook/opt-125m")` downloads, once, the files a forward pass needs into a cache
 * folder and returns that folder; a local folder is returned as it is. Files are fetched from
 * `${endpoint}/${id}/resolve/${revision}/${file}`:
 *   config.json, tokenizer.json and tokenizer_config.json (optional: 404 is fine),
 *   then model.safetensors, or model.safetensors.index.json and every shard it names.
 *
 * Verifying: the Hub announces each LFS file's sha256 (X-Linked-Etag / ETag) and size
 * (X-Linked-Size, Content-Length). A file is renamed from `<file>.part` to `<file>` only once its
 * size and, when announced, its sha256 match, and it parses (JSON files; safetensors files, whose
 * header fixes their exact size). A `.complete` marker, written last, records every file's size and
 * sha256; later calls check the cached files against it (size, structure) without the network and
 * fetch a damaged one again.
 *
 * Resuming: bytes go to `<file>.part`, the version they belong to (its ETag) to
 * `<file>.part.json`. The next attempt asks for the rest with `Range` plus `If-Range: <ETag>`, and
 * continues only if the server confirms the same version (206 and the same ETag); a changed file,
 * a server without ETags or one that ignores Range starts the file over from byte 0. Two versions
 * are never spliced into one file.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fsyncDir, writeFileAtomic } from "../io/atomic";
import { fsError, mkdirp } from "../io/errors";
import { checkSafetensorsLayout } from "../io/safetensors";

export interface DownloadProgress {
  /** File name inside the repository, e.g. "model.safetensors". */
  file: string;
  /** Bytes of this file on disk so far (including bytes from an earlier, interrupted run). */
  bytes: number;
  /** Size of the file when the server said; undefined until known. */
  totalBytes?: number;
  /** Bytes received by this call (excludes resumed bytes), for a bytes/s figure. */
  receivedThisRun: number;
  /** True on the last call for this file. */
  done: boolean;
}

export interface ResolveOptions {
  /** Cache root; default LINEARITY_CACHE, else $HF_HOME/linearity-lab/hub, else ~/.cache/linearity-lab/hub. */
  cacheDir?: string;
  /** Server root; default HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** Use the cache only, never the network (also HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Bearer token for gated or private models; default HF_TOKEN. */
  token?: string;
  /** Called as bytes arrive. */
  onProgress?: (p: DownloadProgress) => void;
  /** Extra attempts per file after a dropped connection (each resumes with Range); default 3. */
  retries?: number;
}

const DEFAULT_ENDPOINT = "https://huggingface.co";
const COMPLETE_MARKER = ".complete";
/** Redirects followed per request (the Hub uses one, to its CDN). */
const MAX_REDIRECTS = 10;
/** Error codes that mean the server cannot be reached at all (as opposed to a dropped transfer). */
const UNREACHABLE = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNREFUSED",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** A hub id: "name" or "owner/name" (letters, digits, '-', '_', '.'). */
export function isHubId(s: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(s) && !s.includes("..");
}

/** Default cache root (see ResolveOptions.cacheDir). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LINEARITY_CACHE) return env.LINEARITY_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, "linearity-lab", "hub");
  return path.join(os.homedir(), ".cache", "linearity-lab", "hub");
}

/** Folder a hub model is cached in: <cache>/<owner>/<name>/<revision>. */
export function cachePathFor(id: string, revision: string, cacheDir: string): string {
  return path.join(cacheDir, ...id.split("/"), revision.replace(/[^\w.-]/g, "_"));
}

/**
 * A local folder as it is, or a hub id downloaded into the cache; returns the folder holding
 * config.json, the safetensors weights and the tokenizer files.
 */
export async function resolveModel(idOrDir: string, opts: ResolveOptions = {}): Promise<string> {
  if (fs.existsSync(idOrDir)) {
    if (!fs.statSync(idOrDir).isDirectory()) {
      throw new Error(`model: ${idOrDir} is a file; pass the folder holding config.json`);
    }
    return path.resolve(idOrDir);
  }
  if (!isHubId(idOrDir)) {
    throw new Error(`model: folder ${idOrDir} does not exist (and it is not a hub id like facebook/opt-125m)`);
  }
  const id = idOrDir;
  const revision = opts.revision ?? "main";
  // Any branch, tag or commit name works (step1000, v1.0, refs/pr/3: the URL encodes it); these
  // three would name no folder of its own in the cache.
  if (revision === "" || revision === "." || revision === "..") {
    throw new Error(`model: --revision '${revision}' is not a branch, tag or commit name`);
  }
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
  const dir = cachePathFor(id, revision, opts.cacheDir ?? defaultCacheDir());
  const offline = opts.offline ?? ["1", "true", "yes"].includes((process.env.HF_HUB_OFFLINE ?? "").toLowerCase());
  if (fs.existsSync(path.join(dir, COMPLETE_MARKER))) {
    const damaged = checkCached(dir);
    if (damaged === undefined) return dir;
    if (offline) {
      throw new Error(
        `${path.join(dir, damaged.file)}: the cached download is damaged (${damaged.why}); delete ${dir} (rm -r) or run 'linearity download ${id}' with a network`,
      );
    }
    // Fetch the damaged file again; the others are kept.
    fs.rmSync(path.join(dir, COMPLETE_MARKER), { force: true });
    fs.rmSync(path.join(dir, damaged.file), { force: true });
  }
  if (offline) {
    throw new Error(`model: ${id} (revision ${revision}) is not in the cache ${dir} and offline mode is on`);
  }
  mkdirp(dir);
  const ctx: FetchContext = {
    id,
    revision,
    endpoint,
    token: opts.token ?? process.env.HF_TOKEN,
    onProgress: opts.onProgress,
    retries: opts.retries ?? 3,
  };

  const records: Record<string, FileRecord> = {};
  const get = async (file: string, optional: boolean): Promise<boolean> => {
    const r = await fetchFile(ctx, dir, file, optional);
    if (r) records[file] = r;
    return r !== false;
  };
  await get("config.json", false);
  await get("tokenizer.json", true);
  await get("tokenizer_config.json", true);
  if (!(await get("model.safetensors", true))) {
    if (!(await get("model.safetensors.index.json", true))) {
      throw new Error(
        `model: ${id} has no model.safetensors or model.safetensors.index.json at revision ${revision} ` +
          `(only safetensors checkpoints are supported)`,
      );
    }
    for (const shard of shardNames(path.join(dir, "model.safetensors.index.json"), id)) {
      await get(shard, false);
    }
  }
  const marker: CompleteMarker = { completed: new Date().toISOString(), files: records };
  writeFileAtomic(path.join(dir, COMPLETE_MARKER), JSON.stringify(marker, null, 1) + "\n");
  return dir;
}

/** What the `.complete` marker records of each file. */
interface FileRecord {
  size: number;
  /** When the server announced it (LFS files) and the download matched it. */
  sha256?: string;
}

interface CompleteMarker {
  completed: string;
  files: Record<string, FileRecord>;
}

/**
 * Check a cached model folder without the network: every file the marker lists has its recorded
 * size, JSON files parse, safetensors files have a valid header that accounts for every byte.
 * Markers of older versions (a bare timestamp) list no files: the folder's files are checked by
 * structure only. Returns the first damaged file, or undefined.
 */
function checkCached(dir: string): { file: string; why: string } | undefined {
  let files: Record<string, FileRecord | undefined>;
  try {
    files = (JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_MARKER), "utf8")) as CompleteMarker).files;
    if (typeof files !== "object" || files === null) throw new Error("no file list");
  } catch {
    files = Object.fromEntries(
      fs.readdirSync(dir).filter((f) => /\.(json|safetensors)$/.test(f) && !f.startsWith(".")).map((f) => [f, undefined]),
    );
  }
  for (const [file, rec] of Object.entries(files)) {
    if (!/^[\w.-]+$/.test(file) || file.startsWith("..")) return { file: COMPLETE_MARKER, why: `it lists ${JSON.stringify(file)}` };
    const full = path.join(dir, file);
    if (!fs.existsSync(full)) return { file, why: "missing" };
    const size = fs.statSync(full).size;
    if (rec !== undefined && size !== rec.size) return { file, why: `${size} bytes, expected ${rec.size}` };
    const bad = structureProblem(full, file);
    if (bad !== undefined) return { file, why: bad };
  }
  return undefined;
}

/** Why a downloaded file cannot be what its name says (JSON that does not parse, a broken safetensors file). */
function structureProblem(onDisk: string, name: string): string | undefined {
  try {
    if (name.endsWith(".json")) JSON.parse(fs.readFileSync(onDisk, "utf8"));
    else if (name.endsWith(".safetensors")) checkSafetensorsLayout(onDisk);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(`${onDisk}: `, "");
  }
}

/** Shard file names listed in a model.safetensors.index.json (its weight_map values). */
export function shardNames(indexFile: string, id: string): string[] {
  let index: { weight_map?: Record<string, unknown> };
  try {
    index = JSON.parse(fs.readFileSync(indexFile, "utf8"));
  } catch (err) {
    throw new Error(`model: ${id}: model.safetensors.index.json is not valid JSON: ${(err as Error).message}`);
  }
  if (!index.weight_map || typeof index.weight_map !== "object") {
    throw new Error(`model: ${id}: model.safetensors.index.json has no weight_map`);
  }
  const names = [...new Set(Object.values(index.weight_map))].sort();
  for (const n of names) {
    // A shard name comes from the server: keep it inside the model folder.
    if (typeof n !== "string" || !/^[\w.-]+\.safetensors$/.test(n)) {
      throw new Error(`model: ${id}: model.safetensors.index.json names an unexpected shard file ${JSON.stringify(n)}`);
    }
  }
  return names as string[];
}

interface FetchContext {
  id: string;
  revision: string;
  endpoint: string;
  token?: string;
  onProgress?: (p: DownloadProgress) => void;
  retries: number;
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === "object"; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Download one file into dir unless it is already there. Returns false when the server has no such
 * file (404) and `optional`; a required file that is missing is an error.
 */
async function fetchFile(ctx: FetchContext, dir: string, file: string, optional: boolean): Promise<FileRecord | false> {
  const dest = path.join(dir, file);
  // Renamed into place only after verification (see fetchOnce): trusted.
  if (fs.existsSync(dest)) return { size: fs.statSync(dest).size };
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchOnce(ctx, dest, file, optional);
    } catch (err) {
      if (err instanceof HubError) throw err;
      const code = errorCode(err);
      if (code !== undefined && UNREACHABLE.has(code)) {
        throw new HubError(
          `cannot reach ${ctx.endpoint} to download ${ctx.id} (offline?); pass a local folder or set HF_ENDPOINT`,
        );
      }
      if (attempt >= ctx.retries) {
        const part = dest + ".part";
        const kept = fs.existsSync(part) ? `; ${fs.statSync(part).size} bytes kept in ${part}, run again to resume` : "";
        throw new HubError(`download of ${ctx.id}/${file} failed: ${describe(err)}${kept}`);
      }
      // A dropped connection or a failed check: try again (resuming only a confirmed version).
    }
  }
}

class HubError extends Error {}

/** The message of a failed request, with the cause fetch() hides behind "fetch failed". */
function describe(err: unknown): string {
  const code = errorCode(err);
  let msg = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown })?.cause;
  if (msg === "fetch failed" && cause instanceof Error) msg = cause.message;
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

/** The version a partial download belongs to, stored beside it as `<file>.part.json`. */
interface PartVersion {
  /** ETag of the response that served the bytes (sent back as If-Range). */
  etag: string;
  /** X-Linked-Etag (the LFS sha256) when the Hub sent one, else the ETag. */
  version: string;
}

/** A strong ETag, unquoted; undefined for none or a weak one (W/"..."), which cannot identify bytes. */
function strongEtag(value: string | null): string | undefined {
  if (value === null || value.startsWith("W/")) return undefined;
  return value.replace(/^"|"$/g, "") || undefined;
}

/** A sha256 announced as an ETag (64 hex digits), lower-cased. */
function announcedSha(etag: string | undefined): string | undefined {
  return etag !== undefined && /^[0-9a-fA-F]{64}$/.test(etag) ? etag.toLowerCase() : undefined;
}

/**
 * GET `url`, following redirects by hand (at most MAX_REDIRECTS) so that the Hub's own headers
 * on the redirect (X-Linked-Etag, X-Linked-Size) are seen, and the token is not sent to another host.
 */
async function request(
  url: string,
  headers: Record<string, string>,
): Promise<{ res: Response; linkedEtag?: string; linkedSize?: number; finalUrl: string }> {
  let linkedEtag: string | undefined;
  let linkedSize: number | undefined;
  let at = url;
  let hdrs = { ...headers };
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await fetch(at, { headers: hdrs, redirect: "manual" });
    linkedEtag ??= strongEtag(res.headers.get("x-linked-etag"));
    const size = res.headers.get("x-linked-size");
    if (linkedSize === undefined && size !== null && /^\d+$/.test(size)) linkedSize = Number(size);
    const location = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || location === null) return { res, linkedEtag, linkedSize, finalUrl: at };
    await res.body?.cancel();
    const next = new URL(location, at);
    if (next.host !== new URL(at).host) {
      const { authorization: _dropped, ...rest } = hdrs;
      hdrs = rest;
    }
    at = next.toString();
  }
  throw new HubError(`download failed: ${url}: too many redirects (a redirect loop?)`);
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

function readPartVersion(file: string): PartVersion | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8")) as PartVersion;
    return typeof v.etag === "string" && typeof v.version === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

async function fetchOnce(ctx: FetchContext, dest: string, file: string, optional: boolean): Promise<FileRecord | false> {
  const part = dest + ".part";
  const partJson = dest + ".part.json";
  // Continue a partial file only when we know which version it holds.
  const stored = fs.existsSync(part) ? readPartVersion(partJson) : undefined;
  if (stored === undefined) fs.rmSync(part, { force: true });
  const have = stored !== undefined ? fs.statSync(part).size : 0;
  const url = `${ctx.endpoint}/${ctx.id}/resolve/${encodeURIComponent(ctx.revision)}/${file}`;
  const headers: Record<string, string> = { "user-agent": "linearity-lab", "accept-encoding": "identity" };
  if (ctx.token) headers.authorization = `Bearer ${ctx.token}`;
  if (have > 0 && stored !== undefined) {
    headers.range = `bytes=${have}-`;
    headers["if-range"] = `"${stored.etag}"`;
  }
  let answer: Awaited<ReturnType<typeof request>>;
  try {
    answer = await request(url, headers);
  } catch (err) {
    if (err instanceof HubError) throw new HubError(`download of ${ctx.id}/${file} failed: ${err.message.replace(/^download failed: /, "")}`);
    if (errorCode(err) === undefined && err instanceof Error && err.message === "fetch failed" && err.cause instanceof Error) {
      // Not a dropped connection: something fetch refuses outright (a bad port, a bad URL).
      if (!/terminated|socket|closed|reset/i.test(err.cause.message)) {
        throw new HubError(`download of ${ctx.id}/${file} failed: ${url}: ${err.cause.message}`);
      }
    }
    throw err;
  }
  const { res, linkedEtag, linkedSize } = answer;

  if (res.status === 404) {
    await res.body?.cancel();
    if (optional) return false;
    throw new HubError(`${ctx.id} has no ${file} at revision ${ctx.revision}`);
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new HubError(
      `access to ${ctx.id} was refused (HTTP ${res.status}); for a gated or private model set HF_TOKEN`,
    );
  }
  if (res.status === 416) {
    // Our .part is not a prefix the server can continue (file changed upstream): start over.
    await res.body?.cancel();
    fs.rmSync(part, { force: true });
    if (have > 0) return fetchOnce(ctx, dest, file, optional); // once: without a .part there is no Range
    throw new Error(`HTTP 416 for ${file} without a Range request`);
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new HubError(`download of ${ctx.id}/${file} failed: HTTP ${res.status} ${res.statusText} from ${url}`);
  }

  // Which version is this? The Hub's X-Linked-Etag (LFS sha256), else the serving response's ETag.
  const etag = strongEtag(res.headers.get("etag"));
  const version = linkedEtag ?? etag;
  const expectedSha = announcedSha(linkedEtag) ?? announcedSha(etag);

  // Work out where the body starts and how big the whole file is.
  let start = 0;
  let total: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    if (!m || Number(m[1]) !== have || stored === undefined || version !== stored.version) {
      // A range we did not ask for, or of another version than our bytes: start over at once
      // (no Range without a .part, so this recurses once).
      await res.body?.cancel();
      fs.rmSync(part, { force: true });
      if (have > 0) return fetchOnce(ctx, dest, file, optional);
      throw new Error(`unexpected Content-Range '${res.headers.get("content-range")}' for ${file}`);
    }
    start = have;
    total = m[3] === "*" ? undefined : Number(m[3]);
  } else {
    const len = res.headers.get("content-length");
    total = len === null ? undefined : Number(len);
  }
  total ??= linkedSize;
  if (start === 0) {
    // Record the version the new bytes belong to (none: the partial file cannot be resumed).
    fs.rmSync(partJson, { force: true });
    if (etag !== undefined && version !== undefined) writeFileAtomic(partJson, JSON.stringify({ etag, version } satisfies PartVersion));
  }

  // Stream the body to the .part file: appended when resuming, rewritten when the server sent it all.
  const fd = fs.openSync(part, start > 0 ? "a" : "w");
  let bytes = start;
  let received = 0;
  try {
    ctx.onProgress?.({ file, bytes, totalBytes: total, receivedThisRun: received, done: false });
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        try {
          fs.writeSync(fd, chunk);
        } catch (err) {
          // A full disk is not a dropped connection: no retry; the bytes so far stay for a resume.
          throw new HubError(fsError(part, err, "write").message);
        }
        bytes += chunk.length;
        received += chunk.length;
        ctx.onProgress?.({ file, bytes, totalBytes: total, receivedThisRun: received, done: false });
      }
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }

  // Verify before the file gets its final name: size, announced sha256, structure.
  const discard = (): void => {
    fs.rmSync(part, { force: true });
    fs.rmSync(partJson, { force: true });
  };
  if (total !== undefined && bytes !== total) {
    if (bytes > total) discard();
    throw new Error(`${file}: got ${bytes} bytes, the server announced ${total}`);
  }
  let sha256: string | undefined;
  if (expectedSha !== undefined) {
    sha256 = await sha256Of(part);
    if (sha256 !== expectedSha) {
      discard();
      throw new Error(`its sha256 is ${sha256}, the server announced ${expectedSha}`);
    }
  }
  const bad = structureProblem(part, file);
  if (bad !== undefined) {
    // With a known size the server's file itself is broken; without one the body was probably cut
    // short (kept for a resume when its version is known).
    if (total !== undefined || expectedSha !== undefined) discard();
    throw new Error(`${bytes} bytes received: ${bad}`);
  }
  fs.renameSync(part, dest);
  fs.rmSync(partJson, { force: true });
  fsyncDir(path.dirname(dest));
  ctx.onProgress?.({ file, bytes, totalBytes: bytes, receivedThisRun: received, done: true });
  return sha256 !== undefined ? { size: bytes, sha256 } : { size: bytes };
}
