/**
 * The precision cut's rank, floor and adjusted score of every consecutive pair of the shipped
 * states (data-samples/hidden-states), from per-pair float64 moments on the route the process
 * was started with (the native BLAS, or LINEARITY_NATIVE=0) or the one forced by `native`. The
 * storage is taken as the dataset's (float16) or, with `dtype`, as float32: then the cut of the
 * repeated embedding rows of state 0 is decided by the Gram's float64 floor (cut.ts), the case
 * where the routes used to disagree. Run as a script it prints the JSON (rank-routes.test.ts runs
 * it in a child process with LINEARITY_NATIVE=0).
 */
import * as path from "node:path";
import { HiddenStateDataset } from "../../lib/dataset/reader";
import { pairStats } from "../../lib/metrics/linearity-stats";
import { type StorageDtype, storageDtypeOf } from "../../lib/numerics/cut";
import { MomentAccumulator } from "../../lib/numerics/moment-accumulator";

export interface RouteRanks {
  tokens: number;
  dtype: StorageDtype;
  /** Per pair b -> b + 1: [rank, floor, adjusted, residual adjusted]. */
  pairs: [number, number, number, number][];
}

export const SAMPLES = path.resolve(__dirname, "../../data-samples/hidden-states");

export function routeRanks(tokens: number, dtype: StorageDtype | undefined, native?: boolean): RouteRanks {
  const ds = HiddenStateDataset.open(SAMPLES);
  const S = ds.nStates, d = ds.dModel, dt = dtype ?? storageDtypeOf(ds.dtype);
  const products: [number, number][] = [];
  for (let b = 0; b < S - 1; b++) products.push([b, b], [b, b + 1]);
  const acc = new MomentAccumulator({ fn: "routeRanks", states: Array.from({ length: S }, (_, b) => ({ name: `state ${b}`, dim: d, dtype: dt })), products, native });
  for (const c of ds.chunks({ rows: 4096, end: tokens })) acc.add(c.states);
  const set = acc.result();
  const pairs = Array.from({ length: S - 1 }, (_, b): [number, number, number, number] => {
    const p = pairStats(set, b, b + 1), r = pairStats(set, b, b + 1, { residual: true });
    return [p.rank, p.floor, p.adjusted, r.adjusted];
  });
  return { tokens, dtype: dt, pairs };
}

if (require.main === module) {
  const [tokens, dtype] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(routeRanks(Number(tokens), dtype === "-" ? undefined : (dtype as StorageDtype))) + "\n");
}
