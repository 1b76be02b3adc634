/**
 * Expected checkpoint tensors (name -> shape) and the check that compares them with what a
 * checkpoint holds, listing every difference in one error.
 */

/** Tensors a family expects in a Hugging Face checkpoint, by HF name (HF layout shapes). */
export interface WeightSpec {
  /** Must be present with exactly this shape. */
  readonly required: ReadonlyMap<string, readonly number[]>;
  /** May be present (e.g. lm_head.weight of a tied model); checked for shape if so. */
  readonly optional: ReadonlyMap<string, readonly number[]>;
  /** Names that are buffers rather than weights (causal-mask caches, rotary inv_freq): ignored. */
  readonly ignored: readonly RegExp[];
}

function fmt(name: string, shape: readonly number[]): string {
  return `${name} [${shape.join(", ")}]`;
}

/** Show at most `max` entries, then a count of the rest, so the error stays one readable line. */
function list(items: string[], max = 8): string {
  return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/**
 * Throw one error listing missing, misshaped and unexpected tensors, e.g.
 * `llama checkpoint does not match its config: missing: model.layers.3.mlp.up_proj.weight [1024, 256]; unexpected: foo [3]`.
 */
export function checkWeights(what: string, spec: WeightSpec, found: ReadonlyMap<string, readonly number[]>): void {
  const missing: string[] = [];
  const misshaped: string[] = [];
  const unexpected: string[] = [];
  for (const [name, shape] of spec.required) {
    const got = found.get(name);
    if (got === undefined) missing.push(fmt(name, shape));
    else if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      misshaped.push(`${name} expected [${shape.join(", ")}], found [${got.join(", ")}]`);
    }
  }
  for (const [name, got] of found) {
    if (spec.required.has(name)) continue;
    const opt = spec.optional.get(name);
    if (opt !== undefined) {
      if (got.length !== opt.length || got.some((d, i) => d !== opt[i])) {
        misshaped.push(`${name} expected [${opt.join(", ")}], found [${got.join(", ")}]`);
      }
    } else if (!spec.ignored.some((re) => re.test(name))) {
      unexpected.push(fmt(name, got));
    }
  }
  if (missing.length + misshaped.length + unexpected.length === 0) return;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing: ${list(missing)}`);
  if (misshaped.length) parts.push(`misshaped: ${list(misshaped)}`);
  if (unexpected.length) parts.push(`unexpected: ${list(unexpected)}`);
  throw new Error(`${what} does not match its config: ${parts.join("; ")}`);
}

/** name -> shape of a state dict's tensors. */
export function shapesOf(tensors: Record<string, { shape: readonly number[] }>): Map<string, readonly number[]> {
  return new Map(Object.entries(tensors).map(([n, t]) => [n, t.shape]));
}
