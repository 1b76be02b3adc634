/**
 * Learning-rate schedule: linear warm-up from 0, then cosine decay to `minLr` at the last step.
 * A pure function of the step, so a resumed run follows the same schedule.
 */

export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Steps of linear warm-up (0 for none). */
  warmup: number;
  /** Total steps of the run (the cosine reaches `minLr` here). */
  steps: number;
  /** Final learning rate (default lr / 10). */
  minLr?: number;
}

/** Learning rate for the update that produces step `step` (1-based: the first update is step 1). */
export function learningRate(step: number, o: ScheduleOptions): number {
  const minLr = o.minLr ?? o.lr / 10;
  if (o.warmup > 0 && step <= o.warmup) return (o.lr * step) / o.warmup;
  const span = Math.max(1, o.steps - o.warmup);
  const progress = Math.min(1, Math.max(0, (step - o.warmup) / span));
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
