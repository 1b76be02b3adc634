/**
 * linearity-lab's public API, one import for notebooks and scripts:
 *   import { HiddenStateDataset, linearityScore, lineChart } from "../dist/lib";
 * Areas are also importable one by one (`../dist/lib/metrics`, `../dist/lib/dataset`, ...).
 * The Jupyter kernel client (lib/notebook) and the CLI are not re-exported: they are tools,
 * not analysis API.
 */
export * from "./backend";
export * from "./numerics";
export * from "./metrics";
export * from "./io";
export * from "./dataset";
export * from "./corpus/brown";
export * from "./tokenizer";
export * from "./models";
export * from "./extract";
export * from "./lens";
export * from "./probes";
export * from "./interventions";
export * from "./analysis";
export * from "./native";
export * from "./plot";
// The learning curve a `linearity train` run writes (read-only; training itself is the CLI's).
export { readCurve, type CurveRow } from "./train/curve";
