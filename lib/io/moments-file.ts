/**
 * The moments file: per-unit float64 moments of hidden states (lib/numerics/moment-set.ts) as a
 * safetensors file, a public, versioned format (docs/dataset-format.md, "Moments files") that
 * `linearity moments` writes, `linearity merge` sums and `linearity score` reads.
 *
 * Layout: every tensor F64, little-endian; per unit u (its id in decimal):
 *   units.<u>.count            [1]                tokens of the unit
 *   units.<u>.means.<s>        [d_s]              column means of state s
 *   units.<u>.sum_squares      [n_states]         centred sums of squares, sum_t ||x_s,t - mean_s||^2
 *   units.<u>.block.<i>.<j>    [d_i, d_j]         centred cross products sum_t (x_i,t - mean_i)(x_j,t - mean_j)^T
 * and string metadata: format "linearity-lab/moments", version "1", states (JSON
 * [{name, d_model, dtype}]), products (JSON [[i, j], ...]), units (JSON {kind: "group" |
 * "group mod" | "one", modulus?, groupsFrom?}), tokens, and free-form `source`; for moments of
 * shard datasets (`extract --shard I/N`) also `shards` (JSON {@link MomentsShards}), which
 * `linearity merge` checks (lib/dataset/shard-coverage.ts).
 */
import type { StorageDtype } from "../numerics/cut";
import type { MomentSet, UnitMoments } from "../numerics/moment-set";
import { readSafetensors, writeSafetensors, type SafetensorsInput } from "./safetensors";

/** The `format` metadata of a moments file. */
export const MOMENTS_FORMAT = "linearity-lab/moments";
/** The format version this code writes and reads. */
export const MOMENTS_VERSION = 1;

/**
 * Which shards of one extraction a moments file sums (absent for a whole dataset): the split's
 * count N, the shard indices held, and the manifest fields the shards share (model, states,
 * dtype, extraction settings, the run's totals), to tell shards of other extractions apart.
 */
export interface MomentsShards {
  count: number;
  indices: number[];
  extraction: Record<string, unknown>;
}

/**
 * Write `set` to `file` atomically (temp file + rename); `source` says what it was computed from,
 * `shards` which shards of an extraction it holds.
 */
export function writeMomentsFile(file: string, set: MomentSet, source = "", shards?: MomentsShards): void {
  const tensors: Record<string, SafetensorsInput> = {};
  for (const u of set.units) {
    const p = `units.${u.id}`;
    tensors[`${p}.count`] = { dtype: "F64", shape: [1], data: [u.count] };
    u.means.forEach((m, s) => (tensors[`${p}.means.${s}`] = { dtype: "F64", shape: [m.length], data: m }));
    tensors[`${p}.sum_squares`] = { dtype: "F64", shape: [u.sumSquares.length], data: u.sumSquares };
    set.products.forEach(([i, j], k) => {
      tensors[`${p}.block.${i}.${j}`] = { dtype: "F64", shape: [set.states[i].dim, set.states[j].dim], data: u.blocks[k] };
    });
  }
  writeSafetensors(file, tensors, {
    format: MOMENTS_FORMAT,
    version: String(MOMENTS_VERSION),
    states: JSON.stringify(set.states.map((s) => ({ name: s.name, d_model: s.dim, dtype: s.dtype }))),
    products: JSON.stringify(set.products),
    units: JSON.stringify(set.unitRule),
    tokens: String(set.units.reduce((n, u) => n + u.count, 0)),
    source,
    ...(shards !== undefined ? { shards: JSON.stringify(shards) } : {}),
  });
}

/** True when `file` is a moments file (by its metadata). */
export function isMomentsFile(file: string): boolean {
  if (!file.endsWith(".safetensors")) return false;
  try {
    return readSafetensors(file).metadata?.format === MOMENTS_FORMAT;
  } catch {
    return false;
  }
}

/** The `shards` of a moments file from its header alone (no tensor is read); undefined for a whole dataset's. */
export function readMomentsShards(file: string): MomentsShards | undefined {
  const meta = readSafetensors(file).metadata ?? {};
  if (meta.format !== MOMENTS_FORMAT) throw new Error(`${file}: not a moments file (format is ${meta.format === undefined ? "missing" : `'${meta.format}'`}); write one with 'linearity moments'`);
  if (meta.shards === undefined) return undefined;
  try {
    return JSON.parse(meta.shards) as MomentsShards;
  } catch {
    throw new Error(`${file}: not a moments file (its shards metadata is not JSON); write one with 'linearity moments'`);
  }
}

/** Read a moments file; errors name the file and what is wrong. */
export function readMomentsFile(file: string): MomentSet & { source: string; shards?: MomentsShards } {
  const st = readSafetensors(file);
  const meta = st.metadata ?? {};
  const bad = (what: string): never => {
    throw new Error(`${file}: not a moments file (${what}); write one with 'linearity moments'`);
  };
  if (meta.format !== MOMENTS_FORMAT) bad(`format is ${meta.format === undefined ? "missing" : `'${meta.format}'`}`);
  if (meta.version !== String(MOMENTS_VERSION)) throw new Error(`${file}: moments format version ${meta.version}; this linearity-lab reads version ${MOMENTS_VERSION}`);
  let states: { name: string; d_model: number; dtype: StorageDtype }[], products: [number, number][], unitRule: MomentSet["unitRule"];
  try {
    states = JSON.parse(meta.states);
    products = JSON.parse(meta.products);
    unitRule = JSON.parse(meta.units);
  } catch {
    return bad("its states, products or units metadata is not JSON");
  }
  const f64 = (name: string, count: number): Float64Array => {
    const t = st.tensors[name];
    if (t === undefined) return bad(`tensor '${name}' is missing`);
    if (t.dtype !== "F64" || t.byteLength !== 8 * count) return bad(`tensor '${name}' is ${t.dtype} [${t.shape.join(", ")}], expected F64 with ${count} values`);
    const bytes = t.readBytes();
    return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const ids = new Set<number>();
  for (const name of st.names) {
    const m = /^units\.(\d+)\.count$/.exec(name);
    if (m) ids.add(Number(m[1]));
  }
  const units: UnitMoments[] = [...ids].sort((a, b) => a - b).map((id) => {
    const p = `units.${id}`;
    const count = f64(`${p}.count`, 1)[0];
    if (!(Number.isInteger(count) && count > 0)) bad(`unit ${id} has count ${count}`);
    return {
      id,
      count,
      means: states.map((s, k) => f64(`${p}.means.${k}`, s.d_model)),
      sumSquares: f64(`${p}.sum_squares`, states.length),
      blocks: products.map(([i, j]) => f64(`${p}.block.${i}.${j}`, states[i].d_model * states[j].d_model)),
    };
  });
  if (units.length === 0) bad("it has no units");
  let shards: MomentsShards | undefined;
  if (meta.shards !== undefined) {
    try {
      shards = JSON.parse(meta.shards);
    } catch {
      return bad("its shards metadata is not JSON");
    }
    if (!(Number.isInteger(shards!.count) && Array.isArray(shards!.indices) && typeof shards!.extraction === "object")) bad("its shards metadata is malformed");
  }
  return {
    states: states.map((s) => ({ name: s.name, dim: s.d_model, dtype: s.dtype })), products, unitRule, units, source: meta.source ?? "",
    ...(shards !== undefined ? { shards } : {}),
  };
}
