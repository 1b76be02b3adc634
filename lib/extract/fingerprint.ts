/**
 * A fingerprint of a model folder's config.json and weights, stored with an extraction so that a
 * resume with other weights under the same --model (a newer checkpoint, another revision fetched
 * into the same folder) is refused instead of mixing states of two models in one dataset.
 *
 * Files up to 64 MiB are hashed whole. Larger weight files are hashed by their size, their
 * safetensors header and 64 blocks of 64 KiB spread evenly over the file: this catches any other
 * checkpoint (training changes every block), not a deliberate edit of a few bytes between blocks,
 * and costs milliseconds instead of reading gigabytes on every resume.
 */
import { createHash, type Hash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { weightFiles } from "../models/load";

const WHOLE_FILE_LIMIT = 64 * 2 ** 20;
const BLOCKS = 64;
const BLOCK = 64 * 2 ** 10;

/** hashRange's buffer, made once: fresh memory costs page faults (and waits on a populating thread). */
let scratch: Buffer | undefined;

function hashRange(h: Hash, fd: number, start: number, length: number): void {
  scratch ??= Buffer.allocUnsafe(2 ** 20);
  const buf = scratch;
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - done), start + done);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    done += n;
  }
}

function hashFile(h: Hash, file: string): void {
  const size = fs.statSync(file).size;
  h.update(`${path.basename(file)}\0${size}\0`);
  const fd = fs.openSync(file, "r");
  try {
    if (size <= WHOLE_FILE_LIMIT) {
      hashRange(h, fd, 0, size);
      return;
    }
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    hashRange(h, fd, 0, 8 + Math.min(Number(head.readBigUInt64LE(0)), size - 8));
    for (let k = 0; k < BLOCKS; k++) {
      hashRange(h, fd, Math.floor(((size - BLOCK) * k) / (BLOCKS - 1)), BLOCK);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** 16 hex digits of SHA-256 over config.json and the weight files of `dir` (see the file comment). */
export function modelFingerprint(dir: string): string {
  const h = createHash("sha256");
  hashFile(h, path.join(dir, "config.json"));
  for (const file of [...weightFiles(dir).files].sort()) hashFile(h, file);
  return h.digest("hex").slice(0, 16);
}
