/**
 * Glue to tslab's display channel.
 *
 * tslab's public `display` API sends one MIME type per message; a Plotly figure needs one
 * bundle with `application/vnd.plotly.v1+json` and a `text/html` fallback, so front ends pick
 * what they can render. The kernel's internal `lastWriteDisplayData` (in tslab/dist/jupyter.js,
 * set at each execute_request) sends any bundle. It is looked up in Node's module cache
 * only: inside a kernel, the kernel has loaded that very file (this package resolves `tslab` to
 * the same node_modules/tslab the kernel runs from, which tslab's launcher prefers); in plain
 * Node it is absent, and nothing as heavy as tslab's compiler gets loaded just to find out.
 */
export type MimeBundle = Record<string, unknown>;

type WriteDisplayData = (msg: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** The kernel's display writer, or undefined outside a running tslab kernel. */
export function kernelDisplayWriter(): WriteDisplayData | undefined {
  let file: string;
  try {
    file = require.resolve("tslab/dist/jupyter");
  } catch {
    return undefined;
  }
  const mod = require.cache[file]?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined;
  return mod?.lastWriteDisplayData ?? undefined;
}

/**
 * How many kernel_info requests the kernel has answered (patches/tslab+1.0.22.patch counts them),
 * or undefined outside a kernel. A front end sends one whenever it (re)connects, e.g. after a
 * page reload, which is when the page has lost plotly.js and the next figure must embed it again.
 */
export function frontEndConnections(): number | undefined {
  let file: string;
  try {
    file = require.resolve("tslab/dist/jupyter");
  } catch {
    return undefined;
  }
  const count = (require.cache[file]?.exports as { kernelInfoRequests?: unknown } | undefined)?.kernelInfoRequests;
  return typeof count === "number" ? count : undefined;
}

/** True when running inside a tslab kernel that can display outputs. */
export function inKernel(): boolean {
  return kernelDisplayWriter() !== undefined;
}

/**
 * Sends `data` as one display_data message. Returns false (and sends nothing) outside a
 * kernel, so callers can return the bundle instead.
 */
export function displayBundle(data: MimeBundle, metadata: Record<string, unknown> = {}): boolean {
  const write = kernelDisplayWriter();
  if (!write) return false;
  write({ data, metadata, transient: {} }, false);
  return true;
}
