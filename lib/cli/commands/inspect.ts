import type { Command } from "commander";
import * as cliProgress from "cli-progress";
import { initBackend } from "../../backend";
import { HiddenStateDataset } from "../../dataset/reader";
import { consecutiveStats, type ConsecutiveStats, type StateStats, type StateMetric } from "../../analysis/consecutive-stats";
import { TWONN_ESTIMATORS, defaultKeepFraction, type TwoNNEstimator } from "../../metrics/intrinsic-dimension";
import { describeUnits } from "../../numerics/moment-set";
import { choiceFlag, fractionFlag, nonNegativeIntFlag, positiveIntFlag } from "../flags";

interface InspectFlags {
  rows?: number;
  maxTokens?: number;
  linearity: boolean;
  anisotropy: boolean;
  intrinsicDim: boolean;
  idMaxTokens: number;
  keepFraction?: number;
  estimator: TwoNNEstimator;
  json?: boolean;
  folds?: number;
  jackknife?: boolean;
  units: number;
}

function fmt(v: number | undefined, digits = 4): string {
  return v === undefined ? "-" : Number.isNaN(v) ? "nan" : v.toFixed(digits);
}

/** A metric's cell: its value, or "undefined (reason)" when the data leaves it undefined. */
function cell(s: StateStats, metric: StateMetric, digits = 4): string {
  const reason = s.undefinedReasons?.[metric];
  return reason !== undefined ? `undefined (${reason})` : fmt(s[metric], digits);
}

/** The manifest summary as aligned "key: value" lines. */
function summary(ds: HiddenStateDataset): string {
  const m = ds.model;
  const what = ds.layout === "original" ? "original block{b}/s{i} layout" : ds.shardCount !== undefined ? `the ${ds.shardCount} shard datasets of one extraction, as one` : "linearity-lab format";
  const lines: [string, string][] = [
    ["dataset", `${ds.dir} (${what})`],
    ["model", `${m.name} (${m.family})${m.source ? ` from ${m.source}` : ""}`],
    ["n_layers", `${ds.nLayers} (n_states = ${ds.nStates})`],
    ...(ds.stateNames !== undefined ? [["states", `sublayer points: ${ds.stateNames.join(", ")}`] as [string, string]] : []),
    ["d_model", String(ds.dModel)],
    ["dtype", ds.dtype],
    ["samples", String(ds.samples.length)],
    ["tokens", String(ds.nTokens)],
    ["complete", ds.complete ? "yes" : "no (writer interrupted or still running; resumable)"],
  ];
  if (ds.manifest) {
    lines.push(["shards", String(ds.manifest.shards.length)]);
    const sh = ds.manifest.shard;
    if (sh) lines.push(["shard", `${sh.index}/${sh.count}: sequences ${sh.first_sample}..${sh.first_sample + sh.n_samples - 1} of the extraction's ${sh.total_samples}`]);
  }
  if (ds.extra) lines.push(["extra", JSON.stringify(ds.extra)]);
  lines.push(["token ids", ds.layout === "linearity-lab" ? "yes" : "no"], ["tags", ds.hasTags ? "yes" : "no"]);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)} : ${v}`).join("\n") + "\n";
}

/** The per-state table; states are labelled by name when the dataset has state names. */
function table(stats: ConsecutiveStats, names?: readonly string[]): string {
  const withCv = stats.states.some((s) => s.linearityStats?.cv != null);
  const withSe = stats.states.some((s) => s.linearityStats?.jackknife != null);
  const withLinearity = stats.states.some((s) => s.linearityNext !== undefined);
  const head = [
    "state", "mean_norm", "cos(b,b+1)", "linearity(b->b+1)",
    ...(withLinearity ? ["rank", "cut", "floor", "adjusted"] : []), ...(withCv ? ["cv"] : []), ...(withSe ? ["se"] : []),
    "w/o residual", ...(withLinearity ? ["adjusted"] : []), ...(withCv ? ["cv"] : []), ...(withSe ? ["se"] : []),
    "anisotropy", "intrinsic_dim",
  ];
  const se = (v: number | undefined) => (v === undefined ? "-" : v.toExponential(1));
  const rows = stats.states.map((s) => {
    const p = s.linearityStats, r = s.residualStats;
    return [
      names === undefined ? String(s.state) : `${s.state} ${names[s.state]}`,
      fmt(s.meanNorm),
      fmt(s.cosineNext),
      cell(s, "linearityNext"),
      ...(withLinearity ? [p ? String(p.rank) : "-", p ? String(p.cut.count) : "-", fmt(p?.floor), fmt(p?.adjusted)] : []),
      ...(withCv ? [fmt(p?.cv ?? undefined)] : []),
      ...(withSe ? [se(p?.jackknife?.se)] : []),
      cell(s, "residualLinearityNext"),
      ...(withLinearity ? [fmt(r?.adjusted)] : []),
      ...(withCv ? [fmt(r?.cv ?? undefined)] : []),
      ...(withSe ? [se(r?.jackknife?.se)] : []),
      cell(s, "anisotropy"),
      cell(s, "intrinsicDimension", 2),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padStart(widths[c])).join("  ");
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}

/**
 * `linearity inspect DATASET...`: the manifest summary and a per-state table (mean norm, cosine and
 * linearity of consecutive states, anisotropy, intrinsic dimension), computed in one streaming
 * pass over the data (the intrinsic dimension on the first --id-max-tokens tokens of that pass).
 * A metric the data leaves undefined (TwoNN where every mu = 1, a state with no variance) shows
 * as "undefined (reason)" in its own cell (JSON: null, with `undefinedReasons`); the rest of the
 * table is computed and the exit status is 0.
 */
export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("summarise a hidden-state dataset: manifest, and per state the mean norm, consecutive cosine, linearity, anisotropy and intrinsic dimension")
    .argument("<dataset...>", "dataset folder (linearity-lab format or the original block{b}/s{i} layout), or the shard datasets of one extraction (extract --shard), read as one")
    .option("--max-tokens <n>", "use only the first n tokens (faster preview)", positiveIntFlag("--max-tokens"))
    .option("--rows <n>", "rows read per chunk", positiveIntFlag("--rows"), 4096)
    .option("--no-linearity", "skip the linearity scores (the costly part)")
    .option("--no-anisotropy", "skip each state's anisotropy")
    .option("--no-intrinsic-dim", "skip each state's TwoNN intrinsic dimension")
    .option("--id-max-tokens <n>", "tokens the intrinsic dimension uses, the first ones (LLM-Microscope: 4096)", positiveIntFlag("--id-max-tokens"), 4096)
    .option("--keep-fraction <f>", "TwoNN keep fraction (default: the estimator's, 0.9 standard, 0.2 llm-microscope)", fractionFlag("--keep-fraction"))
    .option("--estimator <name>", `TwoNN estimator: standard (F = i/N over the kept points) or llm-microscope (LLM-Microscope's exact one)`, choiceFlag("--estimator", TWONN_ESTIMATORS), "standard")
    .option("--folds <k>", "also the K-fold out-of-sample linearity scores, folds by document (fold = document mod K)", positiveIntFlag("--folds"))
    .option("--jackknife", "also the jackknife standard error of the linearity scores (leave one unit of documents out)")
    .option("--units <n>", "with --jackknife: documents merged by id mod n into units (rounded down to a multiple of --folds; 0: one per document)", nonNegativeIntFlag("--units"), 20)
    .option("--json", "print the summary and table as JSON instead")
    .action(async (dirs: string[], flags: InspectFlags) => {
      const ds = HiddenStateDataset.open(dirs);
      if (ds.nTokens === 0) {
        process.stdout.write(summary(ds) + "(no tokens committed yet)\n");
        return;
      }
      await initBackend();
      const bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: "inspect |{bar}| {value}/{total} tokens", hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      const stats = consecutiveStats(ds, {
        rows: flags.rows,
        maxTokens: flags.maxTokens,
        linearity: flags.linearity,
        anisotropy: flags.anisotropy,
        intrinsicDimension: flags.intrinsicDim,
        idMaxTokens: flags.idMaxTokens,
        keepFraction: flags.keepFraction ?? defaultKeepFraction(flags.estimator),
        estimator: flags.estimator,
        folds: flags.folds,
        jackknife: flags.jackknife,
        units: flags.units,
        onProgress: (done, total) => {
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(done);
        },
      });
      if (started) bar.stop();
      if (flags.json) {
        const out = {
          dir: ds.dir,
          ...(ds.shardCount !== undefined ? { shard_datasets: ds.dirs } : {}),
          layout: ds.layout,
          model: ds.model,
          n_layers: ds.nLayers,
          n_states: ds.nStates,
          ...(ds.stateNames !== undefined ? { state_names: ds.stateNames } : {}),
          d_model: ds.dModel,
          dtype: ds.dtype,
          n_samples: ds.samples.length,
          n_tokens: ds.nTokens,
          complete: ds.complete,
          tokens_used: stats.nTokens,
          ...(stats.groups ? { groups: stats.groups } : {}),
          states: stats.states,
        };
        process.stdout.write(JSON.stringify(out, null, 1) + "\n");
        return;
      }
      const used = stats.nTokens < ds.nTokens ? ` (first ${stats.nTokens} of ${ds.nTokens} tokens)` : "";
      const g = stats.groups;
      const groupsLine = g ? `groups: ${g.count} ${g.from} in units by ${describeUnits(g.units)}${g.from === "sequences" ? " (the dataset records no document ids: cv is optimistic)" : ""}\n` : "";
      process.stdout.write(summary(ds) + groupsLine + `\nper state${used}:\n` + table(stats, ds.stateNames));
    });
}
