import type { Command } from "commander";
import * as cliProgress from "cli-progress";
import { initBackend } from "../../backend";
import { HiddenStateDataset } from "../../dataset/reader";
import { consecutiveStats, type ConsecutiveStats } from "../../analysis/consecutive-stats";
import { positiveIntFlag } from "../flags";

interface InspectFlags {
  rows?: number;
  maxTokens?: number;
  linearity: boolean;
  json?: boolean;
}

function fmt(v: number | undefined, digits = 4): string {
  return v === undefined ? "-" : Number.isNaN(v) ? "nan" : v.toFixed(digits);
}

/** The manifest summary as aligned "key: value" lines. */
function summary(ds: HiddenStateDataset): string {
  const m = ds.model;
  const lines: [string, string][] = [
    ["dataset", `${ds.dir} (${ds.layout === "original" ? "original block{b}/s{i} layout" : "linearity-lab format"})`],
    ["model", `${m.name} (${m.family})${m.source ? ` from ${m.source}` : ""}`],
    ["n_layers", `${ds.nLayers} (n_states = ${ds.nStates})`],
    ["d_model", String(ds.dModel)],
    ["dtype", ds.dtype],
    ["samples", String(ds.samples.length)],
    ["tokens", String(ds.nTokens)],
    ["complete", ds.complete ? "yes" : "no (writer interrupted or still running; resumable)"],
  ];
  if (ds.manifest) {
    lines.push(["shards", String(ds.manifest.shards.length)]);
    if (ds.manifest.extra) lines.push(["extra", JSON.stringify(ds.manifest.extra)]);
  }
  const tags = ds.layout === "linearity-lab" && ds.manifest?.shards.every((s) => s.has_tags);
  lines.push(["token ids", ds.layout === "linearity-lab" ? "yes" : "no"], ["tags", tags ? "yes" : "no"]);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)} : ${v}`).join("\n") + "\n";
}

/** The per-state table. */
function table(stats: ConsecutiveStats): string {
  const head = ["state", "mean_norm", "cos(b,b+1)", "linearity(b->b+1)", "w/o residual"];
  const rows = stats.states.map((s) => [
    String(s.state),
    fmt(s.meanNorm),
    fmt(s.cosineNext),
    fmt(s.linearityNext),
    fmt(s.residualLinearityNext),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => x.padStart(widths[c])).join("  ");
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}

/**
 * `linearity inspect DATASET`: the manifest summary and a per-state table (mean norm, cosine and
 * linearity of consecutive states), computed in one streaming pass over the data.
 */
export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("summarise a hidden-state dataset: manifest, and per state the mean norm, consecutive cosine and linearity")
    .argument("<dataset>", "dataset folder (linearity-lab format or the original block{b}/s{i} layout)")
    .option("--max-tokens <n>", "use only the first n tokens (faster preview)", positiveIntFlag("--max-tokens"))
    .option("--rows <n>", "rows read per chunk", positiveIntFlag("--rows"), 4096)
    .option("--no-linearity", "skip the linearity scores (the costly part)")
    .option("--json", "print the summary and table as JSON instead")
    .action(async (dir: string, flags: InspectFlags) => {
      const ds = HiddenStateDataset.open(dir);
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
          layout: ds.layout,
          model: ds.model,
          n_layers: ds.nLayers,
          n_states: ds.nStates,
          d_model: ds.dModel,
          dtype: ds.dtype,
          n_samples: ds.samples.length,
          n_tokens: ds.nTokens,
          complete: ds.complete,
          tokens_used: stats.nTokens,
          states: stats.states,
        };
        process.stdout.write(JSON.stringify(out, null, 1) + "\n");
        return;
      }
      const used = stats.nTokens < ds.nTokens ? ` (first ${stats.nTokens} of ${ds.nTokens} tokens)` : "";
      process.stdout.write(summary(ds) + `\nper state${used}:\n` + table(stats));
    });
}
