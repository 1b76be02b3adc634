/**
 * Which states an extraction stores. By default the n_layers + 1 hidden states; with `--points`
 * the residual stream at sublayer points instead:
 *
 *   embed, then for each block l the chosen points among attn_out, resid_mid, mlp_out,
 *   resid_post (in that order), then ln_final if chosen.
 *
 * `embed` (the embedding output = block 0's resid_pre) always comes first, so with
 * `--points resid_mid,resid_post` consecutive states are attention sublayers (embed or
 * blocks.{l-1}.resid_post -> blocks.l.resid_mid) and MLP sublayers (blocks.l.resid_mid ->
 * blocks.l.resid_post), and linearity can be scored for each separately.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { ForwardOutput, HookPoint } from "../models/types";

/** Points `--points` accepts, in the order they are stored within a block. */
export const EXTRACT_POINTS = ["attn_out", "resid_mid", "mlp_out", "resid_post", "ln_final"] as const;
export type ExtractPoint = (typeof EXTRACT_POINTS)[number];

/**
 * Parse `--points a,b,...` into the points in storage order (duplicates removed). Throws a
 * one-line error naming the flag for an empty list or an unknown point.
 */
export function parsePoints(list: string): ExtractPoint[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new Error(`--points: expected a comma-separated list of ${EXTRACT_POINTS.join(", ")}`);
  for (const n of names) {
    if (n === "resid_pre") {
      throw new Error("--points: 'resid_pre' is block l-1's resid_post (block 0's is the embedding output, always stored first); choose resid_post");
    }
    if (!(EXTRACT_POINTS as readonly string[]).includes(n)) {
      throw new Error(`--points: unknown point '${n}' (choose from ${EXTRACT_POINTS.join(", ")})`);
    }
  }
  return EXTRACT_POINTS.filter((p) => names.includes(p));
}

/** The stored states of a points extraction: their names and how to take them from a forward. */
export interface PointStates {
  /** Names as written to the manifest: `embed`, `blocks.0.resid_mid`, ..., `ln_final`. */
  readonly names: string[];
  /** Points the forward must return. */
  readonly request: HookPoint[];
  /** The stored states, in order, from a forward output ([batch, pos, d_model] each). */
  select(out: ForwardOutput): tf.Tensor3D[];
}

/** Layout of the states for `points` on a model with n_layers blocks. */
export function pointStates(nLayers: number, points: readonly ExtractPoint[]): PointStates {
  const blockPoints = points.filter((p): p is Exclude<ExtractPoint, "ln_final"> => p !== "ln_final");
  const withFinal = points.includes("ln_final");
  const names = ["embed"];
  for (let l = 0; l < nLayers; l++) for (const p of blockPoints) names.push(`blocks.${l}.${p}`);
  if (withFinal) names.push("ln_final");
  return {
    names,
    request: [...points],
    select(out) {
      const states = [out.hiddenStates[0]];
      for (let l = 0; l < nLayers; l++) {
        for (const p of blockPoints) {
          const t = out.points[p]?.[l];
          if (t === undefined) throw new Error(`extract: the forward returned no '${p}' for block ${l}`);
          states.push(t);
        }
      }
      if (withFinal) states.push(out.points.ln_final![0]);
      return states;
    },
  };
}
