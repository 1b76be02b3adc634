/**
 * Probes between hidden states: seeded splits, linear and MLP probes, AdamW training with MSE
 * loss, and a score on the linearity score's scale. See docs/probes.md.
 */
export { mulberry32, permutation } from "./random";
export { splitTrainTest, SplitOptions, TrainTestSplit } from "./split";
export { AdamW, AdamWOptions } from "../optim/adamw";
export { matMulDataLeft } from "./matmul";
export { LinearProbe, MlpProbe, Probe, ProbeInitOptions, predict } from "./probe";
export { trainProbe, probeMse, ProbeData, TrainProbeOptions, EpochStats, StepProgress, ProbeHistory } from "./train";
export { probeScore } from "./score";
export { fitAffineMap, applyAffineMap, AffineMap } from "./closed-form";
export { labelProbe, LabelProbeResult } from "./labels";
export { probeData, disposeProbeData, compareWithClosedForm, ProbeComparisonRow } from "./experiment";
