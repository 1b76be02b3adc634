import type { Command } from "commander";
import { resolveModel } from "../../hub/hub";
import { downloadBar } from "../progress";

/**
 * `linearity download ID [--cache DIR] [--revision R]`: fetch a Hugging Face model (config.json,
 * tokenizer, safetensors weights) into the cache, resuming any interrupted download, and print
 * the local folder.
 */
export function registerDownload(program: Command): void {
  program
    .command("download")
    .description("download a Hugging Face model (config, tokenizer, safetensors) and print its local folder")
    .argument("<id>", "hub id, e.g. facebook/opt-125m")
    .option("--cache <dir>", "cache root (default: $LINEARITY_CACHE, $HF_HOME/linearity-lab/hub or ~/.cache/linearity-lab/hub)")
    .option("--revision <rev>", "branch, tag or commit", "main")
    .action(async (id: string, opts: { cache?: string; revision: string }) => {
      const bar = downloadBar();
      try {
        const dir = await resolveModel(id, { cacheDir: opts.cache, revision: opts.revision, onProgress: bar.onProgress });
        process.stdout.write(dir + "\n");
      } finally {
        bar.stop();
      }
    });
}
