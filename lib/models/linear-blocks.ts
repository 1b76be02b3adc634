/**
 * Blocks stored as an affine map (config.json field `linearity_linear_blocks`, written by
 * `linearity prune --replace linear`; the format is described in lib/interventions/pruned-config.ts
 * and docs/interventions.md) and the block naming the loader and the pruner share (from the
 * family records).
 */
import type { Family } from "./config";
import { parseBlockName as parseFamilyBlockName } from "./family";
import { FAMILIES } from "./registry";
import type { WeightSpec } from "./weights";

/** config.json field: blocks computed as an affine map (folder numbering, ascending). */
export const LINEAR_BLOCKS_FIELD = "linearity_linear_blocks";

/** The config key holding the number of blocks: the first of the family's keys present (HF's preference). */
export function blockCountKey(family: Family, hf: Readonly<Record<string, unknown>>): string {
  const keys = FAMILIES[family].layerCountKeys;
  return keys.find((k) => hf[k] !== undefined) ?? keys[0];
}

/** Canonical name prefix of block l ("model.layers.3", "h.3", "model.decoder.layers.3"). */
export function blockPrefix(family: Family, l: number): string {
  return `${FAMILIES[family].blockPrefix}${l}`;
}

/** Split a canonical tensor name into its block index and the rest, or undefined outside blocks. */
export function parseBlockName(family: Family, name: string): { block: number; rest: string } | undefined {
  return parseFamilyBlockName(FAMILIES[family], name);
}

/** Names of a linear block's two tensors. */
export function linearBlockNames(family: Family, l: number): { weight: string; bias: string } {
  const p = blockPrefix(family, l);
  return { weight: `${p}.linear.weight`, bias: `${p}.linear.bias` };
}

/**
 * The linear blocks a config.json declares, validated: distinct integers in 0..n_layers-1,
 * ascending. [] when the field is absent.
 */
export function linearBlocks(hf: Readonly<Record<string, unknown>>, nLayers: number): number[] {
  const v = hf[LINEAR_BLOCKS_FIELD];
  if (v === undefined || v === null) return [];
  const bad = () => new Error(`config.json: '${LINEAR_BLOCKS_FIELD}' must be a list of distinct block indices 0..${nLayers - 1}, got ${JSON.stringify(v)}`);
  if (!Array.isArray(v)) throw bad();
  for (const b of v) if (!Number.isInteger(b) || b < 0 || b >= nLayers) throw bad();
  if (new Set(v).size !== v.length) throw bad();
  return [...(v as number[])].sort((a, b) => a - b);
}

/**
 * The weight spec of a checkpoint whose `blocks` are linear: those blocks' own tensors are not
 * expected, their `.linear.weight` [d_model, d_model] and `.linear.bias` [d_model] are.
 */
export function specWithLinearBlocks(family: Family, spec: WeightSpec, blocks: readonly number[], dModel: number): WeightSpec {
  if (blocks.length === 0) return spec;
  const linear = new Set(blocks);
  const keep = (m: ReadonlyMap<string, readonly number[]>) =>
    new Map([...m].filter(([name]) => !linear.has(parseBlockName(family, name)?.block ?? -1)));
  const required = keep(spec.required);
  for (const l of blocks) {
    const n = linearBlockNames(family, l);
    required.set(n.weight, [dModel, dModel]);
    required.set(n.bias, [dModel]);
  }
  return { required, optional: keep(spec.optional), ignored: spec.ignored };
}
