/**
 * Helpers the family config normalizers (lib/models/<family>/config.ts) share: typed reads of
 * config.json fields with HF defaults, and one-line refusals naming the model_type.
 */
import type { Activation } from "./config";

/** Read one field, falling back to a default; throw when it is required and missing. */
export function field(
  hf: Record<string, unknown>,
  type: string,
  names: readonly string[],
  fallback?: number | boolean | string | null,
): unknown {
  for (const n of names) if (hf[n] !== undefined && hf[n] !== null) return hf[n];
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json (model_type '${type}'): missing '${names.join("' or '")}'`);
}

export function int(hf: Record<string, unknown>, type: string, names: readonly string[], fallback?: number): number {
  const v = field(hf, type, names, fallback);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new Error(`config.json (model_type '${type}'): '${names[0]}' must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function num(hf: Record<string, unknown>, type: string, names: readonly string[], fallback?: number): number {
  const v = field(hf, type, names, fallback);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`config.json (model_type '${type}'): '${names[0]}' must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function bool(hf: Record<string, unknown>, type: string, name: string, fallback: boolean): boolean {
  const v = field(hf, type, [name], fallback);
  if (typeof v !== "boolean") {
    throw new Error(`config.json (model_type '${type}'): '${name}' must be true or false, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function optionalId(hf: Record<string, unknown>, name: string): number | undefined {
  const v = hf[name];
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (Array.isArray(v) && typeof v[0] === "number") return v[0]; // some configs list several eos ids
  return undefined;
}

export function activation(type: string, v: unknown, allowed: readonly Activation[]): Activation {
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as Activation;
  throw new Error(`config.json (model_type '${type}'): activation ${JSON.stringify(v)} is not supported; expected one of ${allowed.join(", ")}`);
}

export function refuse(type: string, why: string): never {
  throw new Error(`config.json (model_type '${type}'): ${why}`);
}


/** Plain causal attention in every block. */
export function fullAttention(hf: Record<string, unknown>, type: string, layerNames: readonly string[]): null[] {
  return new Array<null>(int(hf, type, layerNames)).fill(null);
}


/** A JSON object, or undefined for anything else. */
export function jsonObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}


/**
 * Rotary settings: `thetaName` (rope_theta, GPT-NeoX's rotary_emb_base) and `partialName`
 * (GPT-NeoX's rotary_pct) at the top level, or inside `rope_parameters` (rope_theta,
 * partial_rotary_factor: the layout transformers 5 writes). Only plain rotary embeddings are
 * implemented: `rope_scaling`, or a `rope_parameters` of another rope_type (or one per layer
 * type), is refused.
 */
export function rotary(
  hf: Record<string, unknown>, type: string, thetaName: string, partialName?: string, partialDefault = 1,
): { theta: number; partial: number } {
  const scaling = jsonObject(hf.rope_scaling);
  if (hf.rope_scaling !== undefined && hf.rope_scaling !== null && (scaling?.rope_type ?? scaling?.type) !== "default") {
    refuse(type, `rope_scaling ${JSON.stringify(hf.rope_scaling)} is not supported (only plain rotary embeddings)`);
  }
  const params = jsonObject(hf.rope_parameters) ?? {};
  const plainParams = params.rope_type === "default" || (params.rope_type === undefined && typeof params.rope_theta === "number");
  if (hf.rope_parameters !== undefined && hf.rope_parameters !== null && !plainParams) {
    refuse(type, `rope_parameters ${JSON.stringify(hf.rope_parameters)} is not supported (only plain rotary embeddings)`);
  }
  const theta = num(hf, type, [thetaName], typeof params.rope_theta === "number" ? params.rope_theta : 10000);
  if (partialName === undefined) return { theta, partial: 1 };
  const partial = num(hf, type, [partialName], typeof params.partial_rotary_factor === "number" ? params.partial_rotary_factor : partialDefault);
  return { theta, partial };
}

