/**
 * Model folders from the Hugging Face hub (or any server with the same URL layout).
 *
 * `resolveModel("facebook/opt-125m")` downloads, once, the files a forward pass needs into a cache
 * folder and returns that folder; a local folder is returned as it is. Files are fetched from
 * `${endpoint}/${id}/resolve/${revision}/${file}`:
 *   config.json, tokenizer.json and tokenizer_config.json (optional: 404 is fine),
 *   then model.safetensors, or model.safetensors.index.json and every shard it names.
 *
 * Resuming: bytes go to `<file>.part`; an interrupted download (Ctrl-C, a dropped connection)
 * keeps it, and the next attempt asks for the rest with an HTTP Range request. A server that
 * ignores Range (status 200) restarts the file from byte 0. The final size is checked against
 * Content-Length / Content-Range before `<file>.part` is renamed to `<file>`, so a file under its
 * final name is always complete. A `.complete` marker, written last, lets later calls skip the
 * network entirely.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fsyncDir } from "../io/atomic";

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
  if (fs.existsSync(path.join(dir, COMPLETE_MARKER))) return dir;
  const offline = opts.offline ?? ["1", "true", "yes"].includes((process.env.HF_HUB_OFFLINE ?? "").toLowerCase());
  if (offline) {
    throw new Error(`model: ${id} (revision ${revision}) is not in the cache ${dir} and offline mode is on`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const ctx: FetchContext = {
    id,
    revision,
    endpoint,
    token: opts.token ?? process.env.HF_TOKEN,
    onProgress: opts.onProgress,
    retries: opts.retries ?? 3,
  };

  await fetchFile(ctx, dir, "config.json", false);
  await fetchFile(ctx, dir, "tokenizer.json", true);
  await fetchFile(ctx, dir, "tokenizer_config.json", true);
  if (!(await fetchFile(ctx, dir, "model.safetensors", true))) {
    if (!(await fetchFile(ctx, dir, "model.safetensors.index.json", true))) {
      throw new Error(
        `model: ${id} has no model.safetensors or model.safetensors.index.json at revision ${revision} ` +
          `(only safetensors checkpoints are supported)`,
      );
    }
    for (const shard of shardNames(path.join(dir, "model.safetensors.index.json"), id)) {
      await fetchFile(ctx, dir, shard, false);
    }
  }
  fs.writeFileSync(path.join(dir, COMPLETE_MARKER), new Date().toISOString() + "\n");
  fsyncDir(dir);
  return dir;
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
async function fetchFile(ctx: FetchContext, dir: string, file: string, optional: boolean): Promise<boolean> {
  const dest = path.join(dir, file);
  if (fs.existsSync(dest)) return true;
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
      // A dropped connection: try again, resuming from the bytes already on disk.
    }
  }
}

class HubError extends Error {}

function describe(err: unknown): string {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

async function fetchOnce(ctx: FetchContext, dest: string, file: string, optional: boolean): Promise<boolean> {
  const part = dest + ".part";
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const url = `${ctx.endpoint}/${ctx.id}/resolve/${encodeURIComponent(ctx.revision)}/${file}`;
  const headers: Record<string, string> = { "user-agent": "linearity-lab" };
  if (ctx.token) headers.authorization = `Bearer ${ctx.token}`;
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await fetch(url, { headers, redirect: "follow" });

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
    throw new Error(`HTTP 416 on resume of ${file}; restarting it`);
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new HubError(`download of ${ctx.id}/${file} failed: HTTP ${res.status} ${res.statusText} from ${url}`);
  }

  // Work out where the body starts and how big the whole file is.
  let start = 0;
  let total: number | undefined;
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    if (!m || Number(m[1]) !== have) {
      // A range we did not ask for: drop the partial file and fetch it whole next attempt.
      await res.body?.cancel();
      fs.rmSync(part, { force: true });
      throw new Error(`unexpected Content-Range '${res.headers.get("content-range")}' for ${file}`);
    }
    start = have;
    total = m[3] === "*" ? undefined : Number(m[3]);
  } else {
    const len = res.headers.get("content-length");
    total = len === null ? undefined : Number(len);
  }

  // Stream the body to the .part file: appended when resuming, rewritten when the server sent it all.
  const fd = fs.openSync(part, start > 0 ? "a" : "w");
  let bytes = start;
  let received = 0;
  try {
    ctx.onProgress?.({ file, bytes, totalBytes: total, receivedThisRun: received, done: false });
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        fs.writeSync(fd, chunk);
        bytes += chunk.length;
        received += chunk.length;
        ctx.onProgress?.({ file, bytes, totalBytes: total, receivedThisRun: received, done: false });
      }
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (total !== undefined && bytes !== total) {
    if (bytes > total) fs.rmSync(part, { force: true });
    throw new Error(`${file}: got ${bytes} bytes, the server announced ${total}`);
  }
  fs.renameSync(part, dest);
  fsyncDir(path.dirname(dest));
  ctx.onProgress?.({ file, bytes, totalBytes: bytes, receivedThisRun: received, done: true });
  return true;
}
