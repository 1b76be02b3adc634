/**
 * Jupyter messaging protocol 5.3: message construction, HMAC-SHA256 signing and parsing of the
 * multipart ZeroMQ wire format
 * `[identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]`.
 *
 * Only what a notebook runner needs; see
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol
 */
import { createHmac, randomUUID } from "crypto";

/** The delimiter between the routing prefix and the signed message parts. */
export const DELIMITER = "<IDS|MSG>";

export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded Jupyter message. */
export interface JupyterMessage<C = Record<string, unknown>> {
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** Signs the four JSON parts with HMAC-SHA256 (empty key: no signature, as Jupyter allows). */
export function sign(key: string, parts: (string | Buffer)[]): string {
  if (key === "") return "";
  const hmac = createHmac("sha256", key);
  for (const p of parts) hmac.update(p);
  return hmac.digest("hex");
}

/** Builds a new message of `msgType` in `session`. */
export function newMessage<C>(
  session: string,
  msgType: string,
  content: C,
  parent: Partial<MessageHeader> = {},
): JupyterMessage<C> {
  return {
    header: {
      msg_id: randomUUID(),
      session,
      username: "linearity-lab",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: "5.3",
    },
    parent_header: parent,
    metadata: {},
    content,
    buffers: [],
  };
}

/** Serializes and signs `msg` into ZeroMQ frames (no routing prefix: DEALER sockets add none). */
export function encodeMessage(key: string, msg: JupyterMessage<unknown>): (string | Buffer)[] {
  const parts = [
    JSON.stringify(msg.header),
    JSON.stringify(msg.parent_header),
    JSON.stringify(msg.metadata),
    JSON.stringify(msg.content),
  ];
  return [DELIMITER, sign(key, parts), ...parts, ...msg.buffers];
}

/**
 * Parses ZeroMQ frames into a message and checks its signature.
 * Throws `invalid message: ...` on a missing delimiter, a bad signature or malformed JSON.
 */
export function decodeMessage(key: string, frames: Buffer[]): JupyterMessage {
  const delim = frames.findIndex((f) => f.length === DELIMITER.length && f.toString("latin1") === DELIMITER);
  if (delim < 0) throw new Error("invalid message: no <IDS|MSG> delimiter");
  if (frames.length < delim + 6) throw new Error(`invalid message: ${frames.length - delim - 1} parts after the delimiter, expected at least 5`);
  const signature = frames[delim + 1].toString("latin1");
  const parts = frames.slice(delim + 2, delim + 6);
  const expected = sign(key, parts);
  if (signature !== expected) throw new Error("invalid message: bad HMAC signature");
  const [header, parent, metadata, content] = parts.map((p) => JSON.parse(p.toString("utf8")));
  return { header, parent_header: parent, metadata, content, buffers: frames.slice(delim + 6) };
}
