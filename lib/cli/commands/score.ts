import type { Command } from "commander";
import { nativeBlas, nativeBlasStatus } from "../../native";
import { scoreFiles, scoreFileStats } from "../../analysis/score-files";
import { consecutivePairStats } from "../../analysis/dataset-moments";
import { writeFileAtomic } from "../../io/atomic";
import { isMomentsFile, readMomentsFile } from "../../io/moments-file";
import { guardOutput } from "../../io/output-guard";
import type { LinearityStats } from "../../metrics/linearity-stats";
import { describeUnits } from "../../numerics/moment-set";
import type { CutReport } from "../../numerics/solve";
import { nonNegativeIntFlag, positiveIntFlag, positiveNumberFlag } from "../flags";

interface ScoreFlags {
  residual?: boolean;
  rcond?: number;
  rows?: number;
  digits: number;
  groups?: string;
  folds?: number;
  jackknife?: boolean;
  json?: string;
  force?: boolean;
}

/** The JSON of one score: every field at full precision (JSON numbers round-trip float64). */
function statsJson(s: LinearityStats): Record<string, unknown> {
  return {
    score: s.score,
    rank: s.rank,
    cut: s.cut.count,
    cut_relative: s.cut.relative,
    cut_by: s.cut.by,
    cut_route: s.cut.route,
    cut_gram_floor: s.cut.gramFloorCut,
    floor: s.floor,
    adjusted: s.adjusted,
    n_tokens: s.nTokens,
    cv: s.cv,
    folds: s.folds,
    jackknife: s.jackknife === null ? null : { groups: s.jackknife.groups, se: s.jackknife.se, ci95: s.jackknife.ci95 },
  };
}

const cutLine = (rank: number, cut: CutReport) =>
  `rank of centred X: ${rank} (cut ${cut.count} direction${cut.count === 1 ? "" : "s"} at ${cut.relative.toExponential(2)} of the largest, by ${cut.by === "precision" ? "the storage precision" : "--rcond"}; ` +
  (cut.route === "qr"
    ? "decided on a float64 QR of the data: the Gram's floor had decided some)\n"
    : `decided on the Gram${cut.gramFloorCut > 0 ? `, ${cut.gramFloorCut} of them at its float64 floor: a QR of the matrices ('linearity score X Y') would resolve them` : ""})\n`);

/** The lines beside the score: floor, adjusted, cv, jackknife. */
function companionLines(s: { floor: number; adjusted: number; cv?: number | null; folds?: number | null; jackknife?: LinearityStats["jackknife"] }, digits: number): string {
  let out = `chance floor rank/(n-1): ${s.floor.toFixed(digits)}\nadjusted: ${s.adjusted.toFixed(digits)}\n`;
  if (s.cv != null) out += `cv (${s.folds} folds by group): ${s.cv.toFixed(digits)}\n`;
  if (s.jackknife) out += `jackknife over ${s.jackknife.groups} groups: se ${s.jackknife.se.toExponential(2)}, 95% interval [${s.jackknife.ci95[0].toFixed(digits)}, ${s.jackknife.ci95[1].toFixed(digits)}]\n`;
  return out;
}

/**
 * `linearity score X Y [--residual] [--groups G.npy --folds K --jackknife] [--json OUT]`: the
 * linearity score of X -> Y for two [tokens, d_model] matrices, with its rank, cut, chance floor and
 * adjusted score (and, from group ids, the out-of-sample score and the jackknife interval).
 * `linearity score MOMENTS.safetensors`: every consecutive pair of a moments file. The last output
 * line of a pair score is the number alone.
 */
export function registerScore(program: Command): void {
  program
    .command("score")
    .description("linearity score of X -> Y for two [tokens, d_model] matrices (.npy or .safetensors), or of every consecutive pair of a moments file, with rank, cut, chance floor and adjusted score")
    .argument("<x>", "source states, [tokens, d_model] (.npy or single-tensor .safetensors), or a moments file ('linearity moments')")
    .argument("[y]", "target states, [tokens, d_model_y], same tokens in the same order (not with a moments file)")
    .option("--residual", "score X against Y - X instead (the paper's linearity without the residual stream)")
    .option("--rcond <r>", "explicit cut: singular values of the centred, column-equilibrated X at or below r x the largest (pinv semantics); default: the precision cut, which keeps every direction the stored values resolve", positiveNumberFlag("--rcond"))
    .option("--groups <file>", "group (document) id of every token, int32 [tokens] .npy ('linearity export DATASET --groups' writes it)")
    .option("--folds <k>", "also the K-fold out-of-sample score: fold = group mod K, map and means from the other folds", positiveIntFlag("--folds"))
    .option("--jackknife", "also the leave-one-group-out jackknife: standard error and 95% interval of the score")
    .option("--json <file>", "also write the result as JSON at full precision ({score, rank, cut, floor, adjusted, cv, jackknife: {groups, se, ci95}, ...})")
    .option("--force", "overwrite --json if it exists")
    .option("--rows <n>", "rows read per chunk", positiveIntFlag("--rows"), 4096)
    .option("--digits <n>", "decimals printed", nonNegativeIntFlag("--digits"), 6)
    .action(async (xFile: string, yFile: string | undefined, flags: ScoreFlags) => {
      const reads = [xFile, yFile, flags.groups];
      const jsonOut = flags.json === undefined ? undefined : guardOutput(flags.json, { kind: "file", flag: "--json", force: flags.force, reads });
      const writeJson = (value: unknown) => {
        if (jsonOut !== undefined) writeFileAtomic(jsonOut.path, JSON.stringify(value, null, 1) + "\n");
      };
      if (flags.folds !== undefined && flags.folds < 2) throw new Error(`--folds must be at least 2, got ${flags.folds}`);
      if (isMomentsFile(xFile)) {
        if (yFile !== undefined) throw new Error(`${xFile} is a moments file: give it alone (it holds every consecutive pair)`);
        if (flags.groups !== undefined) throw new Error("--groups: a moments file holds its own groups");
        scoreMoments(xFile, flags, writeJson);
        return;
      }
      if (yFile === undefined) throw new Error("give two matrix files X Y, or one moments file");
      // The native BLAS does every product: no TensorFlow.js backend to start (~0.1-0.3 s).
      if (nativeBlas() === undefined) await (await import("../../backend")).initBackend();
      else if (!process.env.LINEARITY_QUIET) process.stderr.write(`linearity-lab: ${nativeBlasStatus()}\n`);
      const what = flags.residual ? "X -> Y - X (residual removed)" : "X -> Y";
      const d = flags.digits;
      if (flags.groups !== undefined || flags.folds !== undefined || flags.jackknife) {
        const s = await scoreFileStats(xFile, yFile, { residual: flags.residual, rcond: flags.rcond, rows: flags.rows, groupsFile: flags.groups, folds: flags.folds, jackknife: flags.jackknife });
        writeJson({ x: xFile, y: yFile, residual: flags.residual ?? false, ...statsJson(s), groups: s.groups, units: s.units });
        process.stdout.write(
          `X: ${xFile} [tokens=${s.nTokens}, d_model=${s.dModelX}] ${s.dtypeX}\n` +
            `Y: ${yFile} [tokens=${s.nTokens}, d_model=${s.dModelY}] ${s.dtypeY}\n` +
            `groups: ${s.groups} (${flags.groups}; units ${describeUnits(s.units)})\n` +
            cutLine(s.rank, s.cut) +
            companionLines(s, d) +
            `linearity score ${what}:\n${s.score.toFixed(d)}\n`,
        );
        return;
      }
      const r = await scoreFiles(xFile, yFile, { residual: flags.residual, rcond: flags.rcond, rows: flags.rows });
      const value = flags.residual ? (r.residualScore as number) : r.score;
      const n = r.nTokens;
      writeJson({
        x: xFile,
        y: yFile,
        residual: flags.residual ?? false,
        ...statsJson({ score: value, rank: r.rank, cut: r.cut, floor: r.floor, adjusted: r.adjusted, nTokens: n, cv: null, folds: null, jackknife: null }),
      });
      process.stdout.write(
        `X: ${xFile} [tokens=${n}, d_model=${r.dModelX}] ${r.dtypeX}\n` +
          `Y: ${yFile} [tokens=${n}, d_model=${r.dModelY}] ${r.dtypeY}\n` +
          cutLine(r.rank, r.cut) +
          (r.native
            ? `route: ${r.route} (native BLAS: exact products for every X, no warm-up estimate)\n`
            : `route: ${r.route} (condition estimate of X's correlation matrix ${r.conditionEstimate.toExponential(2)})\n`) +
          companionLines(r, d) +
          `linearity score ${what}:\n` +
          `${value.toFixed(d)}\n`,
      );
    });
}

/** Every consecutive pair of a moments file: a table, and the JSON. */
function scoreMoments(file: string, flags: ScoreFlags, writeJson: (value: unknown) => void): void {
  const set = readMomentsFile(file);
  const pairs = consecutivePairStats(set, { rcond: flags.rcond, folds: flags.folds, jackknife: flags.jackknife, fn: "score" });
  const tokens = set.units.reduce((n, u) => n + u.count, 0);
  writeJson({
    moments: file,
    n_tokens: tokens,
    units: set.unitRule,
    pairs: pairs.map((p) => ({ state: p.state, next: p.state + 1, plain: statsJson(p.plain), residual: statsJson(p.residual) })),
  });
  const d = flags.digits;
  const f = (v: number | null | undefined) => (v == null ? "-" : Number.isNaN(v) ? "nan" : v.toFixed(d));
  const head = ["pair", "score", "rank", "cut", "floor", "adjusted", "cv", "se", "w/o residual", "adjusted", "cv", "se"];
  const rows = pairs.map((p) => [
    `${p.state}->${p.state + 1}`,
    f(p.plain.score), String(p.plain.rank), `${p.plain.cut.count}${p.plain.cut.gramFloorCut > 0 ? "*" : ""}`, f(p.plain.floor), f(p.plain.adjusted), f(p.plain.cv), p.plain.jackknife ? p.plain.jackknife.se.toExponential(1) : "-",
    f(p.residual.score), f(p.residual.adjusted), f(p.residual.cv), p.residual.jackknife ? p.residual.jackknife.se.toExponential(1) : "-",
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padStart(widths[c])).join("  ");
  process.stdout.write(
    `moments: ${file} (${tokens} tokens, ${set.units.length} units by ${describeUnits(set.unitRule)}${set.unitRule.groupsFrom ? ` of ${set.unitRule.groupsFrom}` : ""})\n` +
      [line(head), ...rows.map(line)].join("\n") + "\n" +
      (pairs.some((p) => p.plain.cut.gramFloorCut > 0)
        ? "* cut partly at the Gram's float64 floor rather than by the storage precision: moments cannot tell those directions from rounding; 'linearity score X Y' on the matrices decides them on a float64 QR of the data\n"
        : ""),
  );
}
